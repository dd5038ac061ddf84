import { Readable } from "node:stream";
import {
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaTooLarge,
  mimeTypeOf,
  type OutboundMedia,
  readMediaStream,
} from "@switchboard/core";
import type { FeishuApi } from "./api.ts";

/** Feishu's upload limits: images (`im.image.create`) and files (`im.file.create`). */
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
export const FEISHU_UPLOAD_MAX_BYTES = 30 * 1024 * 1024;

/**
 * The `ref` of a message resource: what `im.messageResource.get` needs, in one opaque string
 * (`<image|file>:<message_id>:<key>`; Feishu ids and keys hold no colon).
 */
export function resourceRef(type: "image" | "file", messageId: string, key: string): string {
  return `${type}:${messageId}:${key}`;
}

function parseRef(ref: string): { type: "image" | "file"; messageId: string; key: string } {
  const [type, messageId, key] = ref.split(":");
  if ((type !== "image" && type !== "file") || !messageId || !key)
    throw new MediaError("media_download_failed", "not a Feishu message resource");
  return { type, messageId, key };
}

/** Download a message's image or file through `im.messageResource.get`, refused past `maxBytes` while streaming. */
export async function downloadResource(
  api: FeishuApi,
  media: InboundMedia,
  options: { maxBytes: number },
): Promise<MediaFile> {
  if (!media.ref) throw new MediaError("media_download_failed", "the message has no file key");
  if (media.size !== undefined && media.size > options.maxBytes)
    throw mediaTooLarge(options.maxBytes, media.size);
  const { type, messageId, key } = parseRef(media.ref);
  let res: Awaited<ReturnType<FeishuApi["resource"]>>;
  try {
    res = await api.resource(messageId, key, type);
  } catch (cause) {
    throw new MediaError("media_download_failed", (cause as Error).message, { cause });
  }
  const declared = Number(res.headers["content-length"]);
  const web = Readable.toWeb(res.stream as Readable) as unknown as ReadableStream<Uint8Array>;
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await web.cancel().catch(() => {});
    throw mediaTooLarge(options.maxBytes, declared);
  }
  const data = await readMediaStream(web, options.maxBytes);
  const header = res.headers["content-type"]?.split(";")[0]?.trim();
  const name = media.name ?? key;
  const mimeType =
    media.mimeType ??
    (header && header !== "application/octet-stream" ? header : undefined) ??
    mimeTypeOf(name);
  return { data, mimeType, name };
}

/** Feishu's `file_type` of an upload: `opus`, `mp4`, `pdf`, `doc`, `xls`, `ppt`, else `stream`. */
export function fileTypeOf(media: OutboundMedia): string {
  const ext = media.name.split(".").at(-1)?.toLowerCase() ?? "";
  if (media.mimeType === "audio/ogg" || ext === "opus") return "opus";
  if (ext === "mp4") return "mp4";
  if (ext === "pdf") return "pdf";
  if (ext === "doc" || ext === "docx") return "doc";
  if (ext === "xls" || ext === "xlsx") return "xls";
  if (ext === "ppt" || ext === "pptx") return "ppt";
  return "stream";
}

/** Upload the file and build the message that shows it: `image` with an `image_key`, else `file` with a `file_key`. */
export async function uploadForMessage(
  api: FeishuApi,
  media: OutboundMedia,
): Promise<{ msgType: string; content: string }> {
  if (media.kind === "image" && media.data.byteLength <= IMAGE_MAX_BYTES) {
    const imageKey = await api.uploadImage(media.data);
    return { msgType: "image", content: JSON.stringify({ image_key: imageKey }) };
  }
  const fileKey = await api.uploadFile(media.name, media.data, fileTypeOf(media));
  return { msgType: "file", content: JSON.stringify({ file_key: fileKey }) };
}
