import type { ChatType, InboundMessage } from "@switchboard/core";
import { mediaOf } from "./media.ts";
import { PLATFORM, type SlackIdentity, type SlackMessageEvent } from "./types.ts";

/** What normalization needs to know about the receiving account. */
export interface NormalizeContext {
  account: string;
  identity: SlackIdentity;
  replyInThread: boolean;
  allowBots: boolean;
  /** The workspace of the envelope (`team_id`), when the event itself does not say. */
  teamId?: string;
  /** Whether the bot has posted in this thread: a follow-up there is addressed to it. */
  inBotThread?(channel: string, threadTs: string): boolean;
}

export type NormalizeResult =
  | { message: InboundMessage }
  | { ignored: "event-type" | "malformed" | "subtype" | "bot" | "empty" };

/**
 * Subtypes that are a person (or bot) saying something. Every other subtype is a side effect
 * (edits, deletions, joins, topic changes…) and is not a message to answer.
 * @see https://docs.slack.dev/reference/events/message#subtypes
 */
const CONVERSATIONAL_SUBTYPES = new Set(["bot_message", "file_share", "thread_broadcast", "me_message"]);

/** Turn a `message` or `app_mention` event into an `InboundMessage`, or say why it is not one. */
export function normalizeEvent(event: SlackMessageEvent, ctx: NormalizeContext): NormalizeResult {
  if (event.type !== "message" && event.type !== "app_mention") return { ignored: "event-type" };
  const { channel, ts } = event;
  if (!channel || !ts) return { ignored: "malformed" };
  if (event.subtype !== undefined && !CONVERSATIONAL_SUBTYPES.has(event.subtype))
    return { ignored: "subtype" };

  const { identity } = ctx;
  const isSelf =
    (identity.botId !== undefined && event.bot_id === identity.botId) || event.user === identity.userId;
  const isBot = isSelf || event.bot_id !== undefined || event.subtype === "bot_message";
  if (isBot && !isSelf && !ctx.allowBots) return { ignored: "bot" };

  const chatType = chatTypeOf(event.channel_type, channel);
  const raw = event.text ?? "";
  const mention = new RegExp(`<@${escapeRegExp(identity.userId)}(?:\\|[^>]*)?>`, "g");
  const mentioned = event.type === "app_mention" || raw.search(mention) >= 0;
  const text = readableText(raw.replace(mention, " "));
  const media = mediaOf(event.files);
  if (!text && media.length === 0 && !isSelf) return { ignored: "empty" };

  const inThread = event.thread_ts !== undefined && event.thread_ts !== ts;
  const threadTs = inThread ? event.thread_ts : undefined;
  // In a channel the reply opens a thread on the message, and that thread is the conversation:
  // its id is the message's ts, so follow-ups in the thread continue the same session.
  const threadId = threadTs ?? (chatType !== "dm" && ctx.replyInThread ? ts : undefined);
  const replyToBot = inThread && event.parent_user_id === identity.userId;
  const botThread = threadTs !== undefined && (ctx.inBotThread?.(channel, threadTs) ?? false);

  const name = event.user_profile?.display_name || event.user_profile?.real_name || event.user_profile?.name;
  const guildId = event.team ?? ctx.teamId;
  const message: InboundMessage = {
    platform: PLATFORM,
    account: ctx.account,
    messageId: ts,
    chat: { id: channel, type: chatType },
    user: { id: event.user ?? event.bot_id ?? "", isBot, ...(name ? { name } : {}) },
    text,
    mentionsBot: mentioned || replyToBot || botThread,
    timestamp: Math.round(Number.parseFloat(ts) * 1000),
    ...(threadId !== undefined ? { threadId } : {}),
    ...(guildId !== undefined ? { guildId } : {}),
    ...(isSelf ? { isSelf } : {}),
    ...(threadTs !== undefined ? { replyTo: { messageId: threadTs, fromBot: replyToBot } } : {}),
    ...(media.length > 0 ? { media } : {}),
  };
  return { message };
}

/** `im` and `mpim` are direct conversations; `channel` and `group` (private channel) are groups. */
function chatTypeOf(channelType: string | undefined, channel: string): ChatType {
  if (channelType === "im" || channelType === "mpim") return "dm";
  if (channelType !== undefined) return "group";
  // `app_mention` carries no channel_type; DM channel ids start with D.
  return channel.startsWith("D") ? "dm" : "group";
}

/**
 * Slack's wire text → what a person typed: `<url|label>` links as Markdown, channel and
 * broadcast references as `#name` / `@here`, and the `&amp;` `&lt;` `&gt;` escapes undone (last,
 * so an escaped `&lt;` can never turn into a control sequence).
 */
function readableText(wire: string): string {
  return wire
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, "[$2]($1)")
    .replace(/<((?:https?|mailto):[^>]+)>/g, "$1")
    .replace(/<#C[A-Z0-9]+\|([^>]+)>/g, "#$1")
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, "@$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]{2,}/g, " ")
    .trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
