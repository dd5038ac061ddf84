import {
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaTooLarge,
  type NativeCommand,
  type OutboundMedia,
  readMediaResponse,
} from "@switchboard/core";
import { type Api, InputFile } from "grammy";
import type { Message } from "grammy/types";
import { toPlatformError } from "./errors.ts";

/** Bot API limits: files a bot may download with `getFile`, and upload with `send*`. */
export const TELEGRAM_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;
export const TELEGRAM_UPLOAD_MAX_BYTES = 50 * 1024 * 1024;
/** Photos above this go as documents (Telegram refuses larger photos). */
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
const CAPTION_MAX = 1024;

/**
 * The files of a message as `InboundMedia`, each with its `file_id` as `ref` (the largest size of a photo).
 * @see https://core.telegram.org/bots/api#message
 */
export function mediaOf(message: Message): InboundMedia[] {
  const media: InboundMedia[] = [];
  const photo = message.photo?.at(-1);
  if (photo) {
    // No type: Telegram re-encodes photos (JPEG today); the file path's extension says what it is.
    media.push({ kind: "image", ref: photo.file_id, ...(photo.file_size ? { size: photo.file_size } : {}) });
  }
  if (message.sticker) {
    media.push({
      kind: "image",
      ref: message.sticker.file_id,
      mimeType: message.sticker.is_animated ? "application/x-tgsticker" : "image/webp",
    });
  }
  if (message.video_note)
    media.push({ kind: "video", mimeType: "video/mp4", ref: message.video_note.file_id });
  // An animation also sets `document` (for old clients), so it is listed once, as a file.
  const files: Array<
    [
      InboundMedia["kind"],
      { file_id: string; mime_type?: string; file_name?: string; file_size?: number } | undefined,
      boolean,
    ]
  > = [
    ["file", message.document, false],
    ["audio", message.audio, false],
    ["audio", message.voice, true],
    ["video", message.video, false],
  ];
  for (const [kind, file, voice] of files) {
    if (!file) continue;
    const m: InboundMedia = { kind, ref: file.file_id };
    if (file.mime_type) m.mimeType = file.mime_type;
    if (file.file_name) m.name = file.file_name;
    if (file.file_size) m.size = file.file_size;
    if (voice) m.voice = true;
    media.push(m);
  }
  return media;
}

/**
 * Download a message's file: `getFile`, then `<apiRoot>/file/bot<token>/<file_path>`. The tokenised URL is
 * built and used here only; the bytes are read under `maxBytes` as they stream.
 * @see https://core.telegram.org/bots/api#getfile
 */
export async function downloadTelegramFile(
  api: Api,
  apiRoot: string,
  token: string,
  media: InboundMedia,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<MediaFile> {
  if (!media.ref) throw new MediaError("media_download_failed", "the message's file has no Telegram file_id");
  const maxBytes = Math.min(options.maxBytes, TELEGRAM_DOWNLOAD_MAX_BYTES);
  if (media.size !== undefined && media.size > maxBytes) throw mediaTooLarge(maxBytes, media.size);
  let file: Awaited<ReturnType<Api["getFile"]>>;
  try {
    file = await api.getFile(media.ref);
  } catch (err) {
    throw new MediaError("media_download_failed", toPlatformError(err).message, { cause: err });
  }
  if (!file.file_path)
    throw new MediaError("media_download_failed", "Telegram gave no file_path for the file");
  if (file.file_size !== undefined && file.file_size > maxBytes)
    throw mediaTooLarge(maxBytes, file.file_size);
  const url = `${apiRoot}/file/bot${token}/${file.file_path}`;
  let res: Response;
  try {
    res = await fetch(url, options.signal ? { signal: options.signal } : {});
  } catch (cause) {
    // The URL holds the token: only its path's file part is named.
    throw new MediaError("media_download_failed", "the Telegram file server is unreachable", { cause });
  }
  const name = media.name ?? file.file_path.split("/").at(-1) ?? "file";
  return readMediaResponse(res, { maxBytes, name, ...(media.mimeType ? { mimeType: media.mimeType } : {}) });
}

/** Which `send*` method shows the file the way the user expects. */
export function sendMethodOf(
  media: OutboundMedia,
): "sendPhoto" | "sendVoice" | "sendAudio" | "sendVideo" | "sendDocument" {
  if (media.kind === "image" && media.data.byteLength <= PHOTO_MAX_BYTES && media.mimeType !== "image/gif")
    return "sendPhoto";
  if (media.kind === "audio") return media.mimeType === "audio/ogg" ? "sendVoice" : "sendAudio";
  if (media.kind === "video" && media.mimeType === "video/mp4") return "sendVideo";
  return "sendDocument";
}

/** Upload a file into a chat with grammY's `InputFile` (multipart). */
export async function sendTelegramMedia(
  api: Api,
  chatId: number | string,
  media: OutboundMedia,
  options: Record<string, unknown>,
): Promise<Message> {
  const input = new InputFile(media.data, media.name);
  const other = {
    ...options,
    ...(media.caption ? { caption: media.caption.slice(0, CAPTION_MAX) } : {}),
  };
  try {
    switch (sendMethodOf(media)) {
      case "sendPhoto":
        return await api.sendPhoto(chatId, input, other);
      case "sendVoice":
        return await api.sendVoice(chatId, input, other);
      case "sendAudio":
        return await api.sendAudio(chatId, input, other);
      case "sendVideo":
        return await api.sendVideo(chatId, input, other);
      default:
        return await api.sendDocument(chatId, input, other);
    }
  } catch (err) {
    throw toPlatformError(err);
  }
}

/** Telegram's command menu: names of 1–32 `a-z0-9_`, descriptions of 1–256 characters. */
export function telegramCommands(
  commands: readonly NativeCommand[],
): Array<{ command: string; description: string }> {
  return commands
    .filter((c) => /^[a-z0-9_]{1,32}$/.test(c.name) && c.description.trim())
    .slice(0, 100)
    .map((c) => ({ command: c.name, description: c.description.trim().slice(0, 256) }));
}
