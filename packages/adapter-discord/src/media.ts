import {
  fetchPlatformFile,
  type InboundMedia,
  type MediaFile,
  mediaKindOf,
  type OutboundMedia,
  readMediaResponse,
} from "@switchboard/core";
import type { Attachment } from "discord.js";

/** What a bot may upload to a channel without boosts (10 MiB since 2024). */
export const DISCORD_UPLOAD_MAX_BYTES = 10 * 1024 * 1024;
const CDN_HOSTS = new Set(["cdn.discordapp.com", "media.discordapp.net"]);

/**
 * An attachment as `InboundMedia`: its (signed, expiring) CDN URL is the `ref`, read only by `downloadMedia`.
 * @see https://discord.com/developers/docs/resources/message#attachment-object
 */
export function mediaOf(attachment: Attachment): InboundMedia {
  const mime = attachment.contentType?.split(";")[0]?.trim() || undefined;
  const media: InboundMedia = { kind: mediaKindOf(mime ?? "application/octet-stream"), ref: attachment.url };
  if (mime) media.mimeType = mime;
  if (attachment.name) media.name = attachment.name;
  if (attachment.size) media.size = attachment.size;
  // Voice messages carry a waveform (message flag IS_VOICE_MESSAGE).
  if (attachment.waveform) {
    media.kind = "audio";
    media.voice = true;
  }
  return media;
}

/** Download an attachment from Discord's CDN (or the configured API host, for a local fake), size-capped. */
export async function downloadAttachment(
  media: InboundMedia,
  options: { maxBytes: number; signal?: AbortSignal; apiUrl?: string },
): Promise<MediaFile> {
  const apiOrigin = options.apiUrl ? new URL(options.apiUrl).origin : undefined;
  const res = await fetchPlatformFile(media, {
    maxBytes: options.maxBytes,
    ...(options.signal ? { signal: options.signal } : {}),
    allowed: (url) => (url.protocol === "https:" && CDN_HOSTS.has(url.hostname)) || url.origin === apiOrigin,
    what: { file: "the attachment", server: "Discord's CDN", host: "Discord's CDN" },
  });
  return readMediaResponse(res, {
    maxBytes: options.maxBytes,
    name: media.name ?? "attachment",
    ...(media.mimeType ? { mimeType: media.mimeType } : {}),
  });
}

/** The multipart `files` of a message carrying one attachment (discord.js REST `RawFile`). */
export function attachmentFiles(
  media: OutboundMedia,
): Array<{ name: string; data: Buffer; contentType: string }> {
  return [
    {
      name: media.name,
      data: Buffer.from(media.data.buffer, media.data.byteOffset, media.data.byteLength),
      contentType: media.mimeType,
    },
  ];
}
