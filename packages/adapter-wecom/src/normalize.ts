import type { InboundMedia, InboundMessage } from "@switchboard/core";
import { PLATFORM, type WecomMessageFields } from "./types.ts";

const MEDIA_KINDS: Record<string, InboundMedia["kind"]> = {
  image: "image",
  voice: "audio",
  video: "video",
  file: "file",
};

/**
 * The id core deduplicates on: `MsgId` for messages; events have none, so sender + time + event name stand in
 * (WeCom's own advice for deduplicating event retries).
 */
export function messageKey(fields: WecomMessageFields): string {
  if (fields.MsgId) return fields.MsgId;
  return `${fields.FromUserName ?? ""}:${fields.CreateTime ?? ""}:${fields.Event ?? fields.MsgType ?? ""}`;
}

/**
 * A decrypted callback message as an `InboundMessage`, or `undefined` for what the gateway does not answer
 * (events such as `enter_agent`, unknown types). A `ChatId` means an app group chat; otherwise it is a DM and
 * the chat is the sender. WeCom hands a group message to an app only when the app is @-mentioned in it.
 * @see https://developer.work.weixin.qq.com/document/path/90239
 */
export function normalizeMessage(fields: WecomMessageFields, account: string): InboundMessage | undefined {
  const from = fields.FromUserName;
  const type = fields.MsgType;
  if (!from || !type || type === "event") return undefined;

  let text = "";
  const media: InboundMedia[] = [];
  if (type === "text") text = fields.Content ?? "";
  else if (type === "link") text = [fields.Title, fields.Description, fields.Url].filter(Boolean).join("\n");
  else if (type === "location")
    text = fields.Label || `${fields.Location_X ?? ""},${fields.Location_Y ?? ""}`;
  else if (MEDIA_KINDS[type]) {
    // The MediaId is what `/cgi-bin/media/get` takes (valid three days); PicUrl is not used.
    const item: InboundMedia = { kind: MEDIA_KINDS[type] };
    if (fields.MediaId) item.ref = fields.MediaId;
    if (type === "voice") {
      item.voice = true;
      item.mimeType = fields.Format === "speex" ? "audio/speex" : "audio/amr";
      item.name = `voice.${fields.Format ?? "amr"}`;
    }
    media.push(item);
  } else {
    return undefined;
  }

  const group = fields.ChatId;
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account,
    messageId: messageKey(fields),
    chat: group ? { id: group, type: "group" } : { id: from, type: "dm" },
    user: { id: from, isBot: false },
    text,
  };
  if (group) inbound.mentionsBot = true;
  if (media.length) inbound.media = media;
  const created = Number(fields.CreateTime);
  if (Number.isFinite(created) && created > 0) inbound.timestamp = created * 1000;
  return inbound;
}
