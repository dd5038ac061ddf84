import {
  type Address,
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaTooLarge,
  type OutboundMedia,
  readMediaResponse,
} from "@switchboard/core";
import type { MessageContent } from "./types.ts";

/** Synapse's default `max_upload_size`; a homeserver may take less (`/media/config`). */
export const MATRIX_UPLOAD_MAX_BYTES = 50 * 1024 * 1024;

/** The msgtypes that carry a file in `url` (an `mxc://` URI). */
export const MEDIA_MSGTYPES: Record<string, InboundMedia["kind"]> = {
  "m.image": "image",
  "m.file": "file",
  "m.audio": "audio",
  "m.video": "video",
};

/** The file fields of an `m.image` / `m.file` / `m.audio` / `m.video` event. */
export interface MediaContent extends MessageContent {
  url?: string;
  filename?: string;
  info?: { mimetype?: string; size?: number };
  "org.matrix.msc3245.voice"?: unknown;
}

/**
 * A media event's file and caption: `ref` is the `mxc://` URI; since Matrix 1.10 a `filename` that differs
 * from `body` makes `body` the caption, else `body` is the file name.
 * @see https://spec.matrix.org/v1.12/client-server-api/#mimage
 */
export function mediaOfContent(content: MediaContent): { media: InboundMedia; caption: string } | undefined {
  const kind = content.msgtype ? MEDIA_MSGTYPES[content.msgtype] : undefined;
  if (!kind || typeof content.url !== "string" || !content.url.startsWith("mxc://")) return undefined;
  const body = typeof content.body === "string" ? content.body : "";
  const name = content.filename ?? body;
  const caption = content.filename && content.filename !== body ? body : "";
  const media: InboundMedia = { kind, ref: content.url };
  if (name) media.name = name;
  if (content.info?.mimetype) media.mimeType = content.info.mimetype;
  if (typeof content.info?.size === "number") media.size = content.info.size;
  if (content["org.matrix.msc3245.voice"] !== undefined) media.voice = true;
  return { media, caption };
}

/** `mxc://server/id` → its server name and media id (each one URL path segment). */
function parseMxc(uri: string): { server: string; id: string } {
  const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(uri);
  if (!m) throw new MediaError("media_download_failed", `not an mxc:// URI: ${uri}`);
  return { server: m[1]!, id: m[2]! };
}

/**
 * Download an `mxc://` file through the homeserver's authenticated media API (Matrix 1.11,
 * `/_matrix/client/v1/media/download`), falling back to the legacy `/_matrix/media/v3/download` on a
 * homeserver that does not know it. The access token goes in the header only.
 */
export async function downloadMxc(
  media: InboundMedia,
  options: {
    maxBytes: number;
    signal?: AbortSignal;
    baseUrl: string;
    accessToken: string;
    fetchFn: typeof fetch;
  },
): Promise<MediaFile> {
  if (!media.ref) throw new MediaError("media_download_failed", "the event has no mxc:// URL");
  if (media.size !== undefined && media.size > options.maxBytes)
    throw mediaTooLarge(options.maxBytes, media.size);
  const { server, id } = parseMxc(media.ref);
  const tail = `${encodeURIComponent(server)}/${encodeURIComponent(id)}`;
  const base = options.baseUrl.replace(/\/+$/, "");
  const init = {
    headers: { authorization: `Bearer ${options.accessToken}` },
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let res: Response;
  try {
    res = await options.fetchFn(`${base}/_matrix/client/v1/media/download/${tail}`, init);
    if (res.status === 404 || res.status === 400) {
      const err = (await res.json().catch(() => ({}))) as { errcode?: string };
      if (err.errcode === "M_UNRECOGNIZED")
        res = await options.fetchFn(`${base}/_matrix/media/v3/download/${tail}`, init);
      else throw new MediaError("media_download_failed", `the homeserver has no file ${media.ref}`);
    }
  } catch (cause) {
    if (cause instanceof MediaError) throw cause;
    throw new MediaError("media_download_failed", "the homeserver's media repository is unreachable", {
      cause,
    });
  }
  return readMediaResponse(res, {
    maxBytes: options.maxBytes,
    name: media.name ?? id,
    ...(media.mimeType ? { mimeType: media.mimeType } : {}),
  });
}

/** The event content for an uploaded file: `m.image` for images, `m.audio` / `m.video`, else `m.file`. */
export function fileContent(address: Address, media: OutboundMedia, contentUri: string): MediaContent {
  const msgtype =
    media.kind === "image"
      ? "m.image"
      : media.kind === "audio"
        ? "m.audio"
        : media.kind === "video"
          ? "m.video"
          : "m.file";
  const content: MediaContent = {
    msgtype,
    body: media.caption || media.name,
    filename: media.name,
    url: contentUri,
    info: { mimetype: media.mimeType, size: media.data.byteLength },
  };
  if (address.threadId) {
    content["m.relates_to"] = {
      rel_type: "m.thread",
      event_id: address.threadId,
      is_falling_back: true,
      "m.in_reply_to": { event_id: address.replyToMessageId ?? address.threadId },
    };
  }
  return content;
}
