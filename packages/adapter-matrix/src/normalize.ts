import type { ChatType, InboundMessage } from "@switchboard/core";
import { EventType, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { type MediaContent, mediaOfContent } from "./media.ts";
import { type MessageContent, PLATFORM } from "./types.ts";

/** Message types the adapter hands to core; images, files etc. are not supported yet. */
const TEXT_MSGTYPES = new Set(["m.text", "m.notice", "m.emote"]);

export interface NormalizeContext {
  client: MatrixClient;
  account: string;
  userId: string;
}

/**
 * DMs are rooms the bot's `m.direct` account data lists, or rooms with exactly two joined members
 * (the bot and one person); every other room is a group.
 */
export function chatTypeOf(client: MatrixClient, room: Room, userId: string): "dm" | "group" {
  const direct = client.getAccountData(EventType.Direct)?.getContent<Record<string, string[]>>() ?? {};
  if (Object.values(direct).some((rooms) => Array.isArray(rooms) && rooms.includes(room.roomId))) return "dm";
  if (room.getJoinedMemberCount() === 2 && room.getMember(userId)?.membership === "join") return "dm";
  return "group";
}

/** The bot's display name in this room (per-room names win over the global one). */
function botNames(room: Room, userId: string): string[] {
  const names = [userId];
  const member = room.getMember(userId);
  if (member?.rawDisplayName && member.rawDisplayName !== userId) names.push(member.rawDisplayName);
  return names;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Whether the message addresses the bot: `m.mentions` when the sender's client sets it (intentional
 * mentions make body matching wrong: a quoted name is not a mention), else the bot's user id or
 * display name in the body, or a pill linking the bot in `formatted_body`.
 */
export function mentionsBot(content: MessageContent, room: Room, userId: string): boolean {
  const mentions = content["m.mentions"];
  if (mentions && typeof mentions === "object") return (mentions.user_ids ?? []).includes(userId);
  if (content.formatted_body?.includes(`matrix.to/#/${userId}`)) return true;
  if (content.formatted_body?.includes(`matrix.to/#/${encodeURIComponent(userId)}`)) return true;
  const body = content.body ?? "";
  return botNames(room, userId).some((name) =>
    new RegExp(`(^|[^\\w@])${escapeRegExp(name)}(?![\\w-])`, "i").test(body),
  );
}

/** Drop the bot's name when it leads the message ("Bot: /new" → "/new") so commands still parse. */
export function stripLeadingMention(text: string, room: Room, userId: string): string {
  for (const name of botNames(room, userId)) {
    const m = new RegExp(`^\\s*@?${escapeRegExp(name)}[:,]?\\s+`, "i").exec(text);
    if (m && text.length > m[0].length) return text.slice(m[0].length);
  }
  return text;
}

/** Rich replies may carry a quoted fallback ("> <@a:hs> text\n\n") before the real body. */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith("> ")) return body;
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith(">")) i++;
  if (i < lines.length && lines[i] === "") return lines.slice(i + 1).join("\n");
  return body;
}

/** The thread root of an event in a thread (`m.relates_to.rel_type: m.thread`). */
export function threadRootOf(content: MessageContent): string | undefined {
  const rel = content["m.relates_to"];
  return rel?.rel_type === "m.thread" && typeof rel.event_id === "string" ? rel.event_id : undefined;
}

/** The event this message really replies to (thread fallbacks marked `is_falling_back` are not replies). */
export function replyTargetOf(content: MessageContent): string | undefined {
  const rel = content["m.relates_to"];
  if (!rel || rel.is_falling_back) return undefined;
  const id = rel["m.in_reply_to"]?.event_id;
  return typeof id === "string" ? id : undefined;
}

/**
 * An `m.room.message` text event as an `InboundMessage`, or `undefined` for what core never sees:
 * non-text msgtypes, edits (`m.replace`, the original already reached the agent) and empty bodies.
 */
export function normalizeMessage(
  ctx: NormalizeContext,
  event: MatrixEvent,
  room: Room,
): InboundMessage | undefined {
  const content = event.getContent<MediaContent>();
  const eventId = event.getId();
  const sender = event.getSender();
  if (!eventId || !sender) return undefined;
  const file = mediaOfContent(content);
  if (!file && (!content.msgtype || !TEXT_MSGTYPES.has(content.msgtype) || typeof content.body !== "string"))
    return undefined;
  if (content["m.relates_to"]?.rel_type === "m.replace") return undefined;

  const replyTo = replyTargetOf(content);
  const body = file ? file.caption : (content.body ?? "");
  let text = replyTo ? stripReplyFallback(body) : body;
  text = stripLeadingMention(text, room, ctx.userId).trim();
  if (!text && !file) return undefined;

  const chatType: ChatType = chatTypeOf(ctx.client, room, ctx.userId);
  const member = room.getMember(sender);
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account: ctx.account,
    messageId: eventId,
    chat: { id: room.roomId, type: chatType },
    user: { id: sender },
    text: content.msgtype === "m.emote" ? `* ${member?.name ?? sender} ${text}` : text,
    mentionsBot: mentionsBot(content, room, ctx.userId),
    timestamp: event.getTs(),
  };
  if (room.name && room.name !== room.roomId && chatType !== "dm") inbound.chat.name = room.name;
  if (member?.rawDisplayName && member.rawDisplayName !== sender) inbound.user.name = member.rawDisplayName;
  // Bots post m.notice; the spec asks clients never to answer one automatically, so core's bot policy decides.
  if (content.msgtype === "m.notice") inbound.user.isBot = true;
  if (sender === ctx.userId) inbound.isSelf = true;
  if (file) inbound.media = [file.media];
  const threadId = threadRootOf(content);
  if (threadId) inbound.threadId = threadId;
  if (replyTo) {
    const target = room.findEventById(replyTo);
    const fromBot = target?.getSender() === ctx.userId;
    inbound.replyTo = { messageId: replyTo, fromBot };
    const targetBody = target?.getContent<MessageContent>().body;
    if (typeof targetBody === "string") inbound.replyTo.text = targetBody;
    if (fromBot) inbound.mentionsBot = true;
  }
  return inbound;
}
