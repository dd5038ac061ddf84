import {
  type ApiServerConfig,
  type ChatMessage,
  fetchImage,
  ImageFetchError,
  toDataUrl,
} from "@switchboard/core";
import type { Conversation } from "./convert.ts";
import { ApiError } from "./errors.ts";

/** Images fetched at once for one request. */
const CONCURRENCY = 4;

const isRemote = (url: string) => /^https?:\/\//i.test(url);

/**
 * Replace every image given by URL with the image itself, as a data URL, so neither the provider nor its
 * SDK ever fetches a caller's URL on the gateway's behalf. The gateway fetches it instead, refusing private
 * and local addresses, within `api_server.images` limits (`max_bytes` bounds all images of the request
 * together). A refused image is a 400 saying why.
 */
export async function inlineImages(conv: Conversation, settings: ApiServerConfig): Promise<void> {
  const parts: Array<{ type: "image"; url: string; mimeType?: string }> = [];
  const scan = (messages: ChatMessage[]) => {
    for (const m of messages) {
      if (typeof m.content === "string") continue;
      for (const p of m.content) if (p.type === "image" && isRemote(p.url)) parts.push(p);
    }
  };
  scan(conv.history);
  scan(conv.input);
  if (parts.length === 0) return;

  const { max_bytes: maxBytes, timeout_s: timeoutS, trusted_hosts: trustedHosts } = settings.images;
  let budget = maxBytes;
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const part = parts[next++]!;
      const url = part.url;
      try {
        const image = await fetchImage(url, { maxBytes: budget, timeoutMs: timeoutS * 1000, trustedHosts });
        budget -= image.data.byteLength;
        part.url = toDataUrl(image.mimeType, image.data);
        part.mimeType = image.mimeType;
      } catch (cause) {
        const host = (() => {
          try {
            return new URL(url).host;
          } catch {
            return "?";
          }
        })();
        const why = cause instanceof ImageFetchError ? cause.message : String(cause);
        throw new ApiError(400, `The image at ${host} was not used: ${why}.`, {
          code: cause instanceof ImageFetchError ? cause.code : "image_fetch_failed",
          param: "image_url",
          cause,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, parts.length) }, worker));
  // Concurrent fetches each saw the budget left when they started; the sum is what counts.
  if (budget < 0) {
    throw new ApiError(
      400,
      `The images of this request are larger than the limit of ${maxBytes} bytes together.`,
      {
        code: "image_too_large",
        param: "image_url",
      },
    );
  }
}
