import type { InboundMedia, InboundMessage } from "@switchboard/core";
import { type InboundPush, type MsgBodyElement, PLATFORM, RECALL_COMMANDS } from "./types.ts";

export interface NormalizeContext {
  account: string;
  /** The bot's account id: its own messages and its @-mentions are recognised by it. */
  botId: string | undefined;
  /** Whether `messageId` is a message this bot sent (quoting it addresses the bot). */
  isOwnMessage?(messageId: string): boolean;
}

/** `TIMCustomElem` `data.elem_type` of an @-mention. */
const MENTION_ELEM = 1002;

const MEDIA_KINDS: Record<string, InboundMedia["kind"]> = {
  TIMImageElem: "image",
  TIMFileElem: "file",
  TIMSoundElem: "audio",
  TIMVideoFileElem: "video",
};

/**
 * An inbound push as an `InboundMessage`, or `undefined` for what is not a message to answer (recalls,
 * pushes without sender or content). A push with a `group_code` is a group message (chat id = the group
 * code), anything else a private (C2C) chat whose id is the sender's account. An @-mention of the bot (a
 * `TIMCustomElem` with `elem_type` 1002 naming the bot's id) sets `mentionsBot` and is cut from the text; a
 * quote in `cloud_custom_data` becomes `replyTo`.
 */
export function normalizePush(push: InboundPush, ctx: NormalizeContext): InboundMessage | undefined {
  if (RECALL_COMMANDS.has(push.callback_command)) return undefined;
  if (!push.from_account) return undefined;
  const messageId = push.msg_id || push.msg_key || (push.msg_seq ? `${push.msg_seq}-${push.msg_random}` : "");
  if (!messageId) return undefined;

  let text = "";
  let mentionsBot = false;
  const media: InboundMedia[] = [];
  for (const el of push.msg_body) {
    const piece = elementText(el, ctx.botId);
    if (piece.mentionsBot) mentionsBot = true;
    text += piece.text;
    const kind = MEDIA_KINDS[el.msg_type];
    if (kind) media.push(mediaOf(kind, el));
  }

  const group = Boolean(push.group_code);
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account: ctx.account,
    messageId,
    chat: group
      ? { id: push.group_code, type: "group", ...(push.group_name ? { name: push.group_name } : {}) }
      : {
          id: push.from_account,
          type: "dm",
          ...(push.sender_nickname ? { name: push.sender_nickname } : {}),
        },
    user: {
      id: push.from_account,
      ...(push.sender_nickname ? { name: push.sender_nickname } : {}),
      isBot: ctx.botId !== undefined && push.from_account === ctx.botId,
    },
    text: text.replace(/[ \t]+\n/g, "\n").trim(),
  };
  if (ctx.botId !== undefined && push.from_account === ctx.botId) inbound.isSelf = true;
  if (mentionsBot) inbound.mentionsBot = true;
  const quote = quoteOf(push.cloud_custom_data);
  if (quote) {
    inbound.replyTo = {
      messageId: quote.id,
      ...(quote.desc ? { text: quote.desc } : {}),
      fromBot:
        (ctx.botId !== undefined && quote.senderId === ctx.botId) || (ctx.isOwnMessage?.(quote.id) ?? false),
    };
  }
  if (media.length) inbound.media = media;
  if (push.msg_time > 0) inbound.timestamp = push.msg_time * 1000;
  return inbound;
}

function elementText(el: MsgBodyElement, botId: string | undefined): { text: string; mentionsBot?: boolean } {
  const c = el.msg_content ?? {};
  switch (el.msg_type) {
    case "TIMTextElem":
      return { text: typeof c.text === "string" ? c.text : "" };
    case "TIMCustomElem": {
      const custom = parseJson(c.data);
      if (custom?.elem_type === MENTION_ELEM) {
        // The bot's own mention goes, with the space after it; other people's stay as "@name".
        if (botId !== undefined && String(custom.user_id ?? "") === botId)
          return { text: "", mentionsBot: true };
        return { text: typeof custom.text === "string" ? custom.text : "" };
      }
      return { text: typeof custom?.text === "string" ? custom.text : "" };
    }
    case "TIMFaceElem": {
      const name = parseJson(c.data)?.name;
      return { text: typeof name === "string" && name ? `[${name}]` : "" };
    }
    default:
      return { text: "" };
  }
}

function mediaOf(kind: InboundMedia["kind"], el: MsgBodyElement): InboundMedia {
  const c = el.msg_content ?? {};
  const images = Array.isArray(c.image_info_array) ? c.image_info_array : [];
  // Tencent IM lists an image as original, large and thumbnail; the large one is enough to look at.
  const url = kind === "image" ? (images[1]?.url ?? images[0]?.url ?? c.url) : c.url;
  const item: InboundMedia = { kind };
  // The COS URL is the handle `downloadMedia` fetches; nothing else reads it.
  if (typeof url === "string" && url) item.ref = url;
  if (typeof c.file_name === "string" && c.file_name) item.name = c.file_name;
  if (typeof c.file_size === "number" && c.file_size > 0) item.size = c.file_size;
  if (kind === "audio") item.voice = true;
  return item;
}

function quoteOf(cloudCustomData: string): { id: string; desc?: string; senderId?: string } | undefined {
  const quote = parseJson(cloudCustomData)?.quote;
  if (typeof quote !== "object" || quote === null) return undefined;
  const q = quote as Record<string, unknown>;
  const id = typeof q.id === "string" ? q.id.trim() : "";
  if (!id) return undefined;
  return {
    id,
    ...(typeof q.desc === "string" && q.desc ? { desc: q.desc } : {}),
    ...(typeof q.sender_id === "string" ? { senderId: q.sender_id } : {}),
  };
}

function parseJson(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== "string" || !value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
