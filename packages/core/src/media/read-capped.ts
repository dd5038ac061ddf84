import { readAtMost } from "../bytes.ts";
import type { InboundMedia, MediaFile } from "../platform.ts";
import { MediaError, mediaTooLarge } from "./errors.ts";
import { bareMimeType, mimeTypeOf } from "./mime.ts";

/**
 * A platform's file download as a `MediaFile`, refused past `maxBytes`: on the declared length before
 * reading, else as soon as the streamed bytes pass it (the rest is never buffered). For adapters.
 */
export async function readMediaResponse(
  res: Response,
  options: { maxBytes: number; name: string; mimeType?: string },
): Promise<MediaFile> {
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new MediaError("media_download_failed", `the platform answered HTTP ${res.status} for the file`);
  }
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw mediaTooLarge(options.maxBytes, declared);
  }
  const data = res.body ? await readMediaStream(res.body, options.maxBytes) : new Uint8Array(0);
  const header = bareMimeType(res.headers.get("content-type"));
  const mimeType =
    options.mimeType ??
    (header && header !== "application/octet-stream" ? header : undefined) ??
    mimeTypeOf(options.name);
  return { data, mimeType, name: options.name };
}

/** The stream's bytes, or a `media_too_large` error as soon as they pass `maxBytes` (the stream is cancelled). */
export async function readMediaStream(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array> {
  const data = await readAtMost(body, maxBytes);
  if (!data) throw mediaTooLarge(maxBytes);
  return data;
}

/**
 * Start downloading an inbound file from the URL in its `ref`, but only from a host the platform owns
 * (`allowed`): a URL elsewhere would hand the account's credentials (`headers`) to a stranger. Refuses a
 * declared size past `maxBytes` before asking; `what` names the file and the server in errors
 * ("the Slack file", "Slack's file server"). Read the answer with `readMediaResponse`.
 */
export async function fetchPlatformFile(
  media: InboundMedia,
  options: {
    maxBytes: number;
    signal?: AbortSignal;
    allowed: (url: URL) => boolean;
    headers?: Record<string, string>;
    what: { file: string; server: string; host: string };
  },
): Promise<Response> {
  const { what } = options;
  if (!media.ref) throw new MediaError("media_download_failed", `${what.file} has no URL`);
  if (media.size !== undefined && media.size > options.maxBytes)
    throw mediaTooLarge(options.maxBytes, media.size);
  let url: URL;
  try {
    url = new URL(media.ref);
  } catch (cause) {
    throw new MediaError("media_download_failed", `${what.file} URL is not a URL`, { cause });
  }
  if (!options.allowed(url))
    throw new MediaError(
      "media_download_failed",
      `${what.file} is not on ${what.host} (${url.hostname}); not downloaded`,
    );
  try {
    return await fetch(url, {
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (cause) {
    throw new MediaError("media_download_failed", `${what.server} is unreachable`, { cause });
  }
}
