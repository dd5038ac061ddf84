import {
  fetchPlatformFile,
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaKindOf,
  type OutboundMedia,
  readMediaResponse,
} from "@switchboard/core";
import type { SlackMessageEvent } from "./types.ts";

/** The largest file a Slack workspace takes (1 GB). */
export const SLACK_UPLOAD_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * A message's files as `InboundMedia`: `ref` is the file's `url_private_download` (else `url_private`),
 * which needs the bot token in an `Authorization` header; the token never goes in a URL.
 * @see https://docs.slack.dev/reference/objects/file-object
 */
export function mediaOf(files: SlackMessageEvent["files"]): InboundMedia[] {
  const out: InboundMedia[] = [];
  for (const f of files ?? []) {
    const ref = f.url_private_download ?? f.url_private;
    const mime = f.mimetype ?? "";
    const m: InboundMedia = { kind: mediaKindOf(mime || "application/octet-stream") };
    if (ref) m.ref = ref;
    if (f.mimetype) m.mimeType = f.mimetype;
    if (f.name) m.name = f.name;
    if (typeof f.size === "number") m.size = f.size;
    // A clip recorded in Slack's composer.
    if (f.subtype === "slack_audio") {
      m.kind = "audio";
      m.voice = true;
    }
    out.push(m);
  }
  return out;
}

/**
 * Download a Slack file with the bot token, only from Slack's own hosts (or the configured API host):
 * a file URL elsewhere would hand the token to a stranger.
 */
export async function downloadSlackFile(
  media: InboundMedia,
  options: { maxBytes: number; signal?: AbortSignal; token: string; apiUrl?: string },
): Promise<MediaFile> {
  const apiOrigin = options.apiUrl ? new URL(options.apiUrl).origin : undefined;
  const res = await fetchPlatformFile(media, {
    maxBytes: options.maxBytes,
    ...(options.signal ? { signal: options.signal } : {}),
    headers: { authorization: `Bearer ${options.token}` },
    allowed: (url) =>
      (url.protocol === "https:" && (url.hostname === "slack.com" || url.hostname.endsWith(".slack.com"))) ||
      url.origin === apiOrigin,
    what: { file: "the Slack file", server: "Slack's file server", host: "a Slack host" },
  });
  // Without the files:read scope Slack answers 200 with its sign-in page instead of the file.
  if (res.headers.get("content-type")?.startsWith("text/html") && !media.mimeType?.startsWith("text/html")) {
    await res.body?.cancel().catch(() => {});
    throw new MediaError(
      "media_download_failed",
      "Slack answered with a sign-in page: give the app the files:read scope and reinstall it",
    );
  }
  return readMediaResponse(res, {
    maxBytes: options.maxBytes,
    name: media.name ?? "file",
    ...(media.mimeType ? { mimeType: media.mimeType } : {}),
  });
}

/** The `files.uploadV2` arguments for one file into a channel (and thread). */
export function uploadArgs(
  channel: string,
  threadTs: string | undefined,
  media: OutboundMedia,
): Record<string, unknown> {
  return {
    channel_id: channel,
    file: Buffer.from(media.data.buffer, media.data.byteOffset, media.data.byteLength),
    filename: media.name,
    title: media.name,
    ...(media.caption ? { initial_comment: media.caption } : {}),
    ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
  };
}
