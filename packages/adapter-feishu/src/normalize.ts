import type { InboundMedia, InboundMessage } from "@switchboard/core";
import { parsePost, postToText } from "./format.ts";
import { resourceRef } from "./media.ts";
import { type FeishuReceiveEvent, PLATFORM, type PostElement } from "./types.ts";

export interface NormalizeContext {
  account: string;
  /** The bot's own `open_id`; without it no mention of the bot can be recognised. */
  botOpenId: string | undefined;
  /** Whether `messageId` is a message this bot sent (a reply to it counts as addressing the bot). */
  isOwnMessage?(messageId: string): boolean;
}

const MEDIA_KINDS: Record<string, InboundMedia["kind"]> = {
  image: "image",
  audio: "audio",
  media: "video",
  file: "file",
};

/**
 * An `im.message.receive_v1` event as an `InboundMessage`, or `undefined` for what the gateway does not answer
 * (stickers, cards, system messages). `p2p` → dm, anything else → group; a message in a thread carries the
 * thread's root message id as `threadId` (what a reply in that thread needs); `@_user_N` placeholders become
 * `@Name`, and the bot's own is removed and sets `mentionsBot`.
 * @see https://open.feishu.cn/document/server-docs/im-v1/message/events/receive
 */
export function normalizeReceive(
  event: FeishuReceiveEvent,
  ctx: NormalizeContext,
): InboundMessage | undefined {
  const { message, sender } = event;
  if (!message?.message_id || !message.chat_id) return undefined;

  let content: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(message.content || "{}");
    if (typeof parsed === "object" && parsed !== null) content = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }

  let text = "";
  const media: InboundMedia[] = [];
  if (message.message_type === "text") {
    text = typeof content.text === "string" ? content.text : "";
  } else if (message.message_type === "post") {
    const post = parsePost(content);
    // Images sent with text arrive as `img` elements of a post.
    for (const line of post?.content ?? [])
      for (const e of line)
        if (e.tag === "img" && e.image_key)
          media.push({ kind: "image", ref: resourceRef("image", message.message_id, e.image_key) });
    if (post)
      text = postToText(
        { ...post, content: post.content.map((p) => p.map(placeholderAt)) },
        { linkUrls: true },
      );
  } else if (MEDIA_KINDS[message.message_type]) {
    const item: InboundMedia = { kind: MEDIA_KINDS[message.message_type]! };
    const key = content.file_key ?? content.image_key;
    if (typeof content.file_name === "string") item.name = content.file_name;
    if (typeof key === "string") {
      item.ref = resourceRef(message.message_type === "image" ? "image" : "file", message.message_id, key);
    }
    // An `audio` message is a voice recording made in the Feishu client.
    if (message.message_type === "audio") item.voice = true;
    media.push(item);
  } else {
    return undefined;
  }

  let mentionsBot = false;
  // Longest keys first, so `@_user_1` never eats the start of `@_user_10`.
  const mentions = [...(message.mentions ?? [])].sort((a, b) => b.key.length - a.key.length);
  for (const m of mentions) {
    const isBot = ctx.botOpenId !== undefined && m.id?.open_id === ctx.botOpenId;
    if (isBot) mentionsBot = true;
    // The bot's own mention goes with the space after it ("@_user_1 hi" → "hi").
    text = isBot
      ? text.replaceAll(`${m.key} `, "").replaceAll(m.key, "")
      : text.replaceAll(m.key, `@${m.name ?? m.id?.open_id ?? "user"}`);
  }
  text = text.replaceAll("@_all", "@all").trim();

  const openId = sender?.sender_id?.open_id ?? sender?.sender_id?.user_id ?? "";
  const isBot = sender?.sender_type === "app";
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account: ctx.account,
    messageId: message.message_id,
    chat: { id: message.chat_id, type: message.chat_type === "p2p" ? "dm" : "group" },
    user: { id: openId, isBot },
    text,
  };
  const unionId = sender?.sender_id?.union_id;
  if (unionId) inbound.user.idAlt = unionId;
  if (isBot && ctx.botOpenId !== undefined && openId === ctx.botOpenId) inbound.isSelf = true;
  if (mentionsBot) inbound.mentionsBot = true;
  // The root of a thread has a thread_id and no root_id: it is its own root.
  if (message.thread_id) inbound.threadId = message.root_id || message.message_id;
  if (message.parent_id && message.parent_id !== inbound.threadId) {
    inbound.replyTo = {
      messageId: message.parent_id,
      fromBot: ctx.isOwnMessage?.(message.parent_id) ?? false,
    };
  } else if (message.parent_id && ctx.isOwnMessage?.(message.parent_id)) {
    inbound.replyTo = { messageId: message.parent_id, fromBot: true };
  }
  if (media.length) inbound.media = media;
  const created = Number(message.create_time);
  if (Number.isFinite(created) && created > 0) inbound.timestamp = created;
  return inbound;
}

/** In received posts an `at` names its mention placeholder (`@_user_1`) in `user_id`: keep that, so it is resolved like text. */
function placeholderAt(e: PostElement): PostElement {
  if (e.tag === "at" && e.user_id.startsWith("@_")) return { tag: "text", text: e.user_id };
  return e;
}
