import type { ChatType, InboundMessage } from "@switchboard/core";
import type { Chat, Message, MessageEntity, Update } from "grammy/types";
import { PLATFORM } from "./errors.ts";
import { mediaOf } from "./media.ts";
import type { BotIdentity } from "./types.ts";

/** A forum's General topic has no `message_thread_id` on the wire; Telegram's id for it is 1. */
export const GENERAL_TOPIC = "1";

/** The update kinds the adapter asks for (`allowed_updates`) and normalizes. */
export const ALLOWED_UPDATES = ["message", "channel_post", "callback_query"] as const;

/**
 * The Bot API `message_id` in a message id string. Ids are unique per chat only (core dedupes per chat);
 * a `<chat>:<id>` form is accepted too, for callers that made ids globally unique.
 */
export function messageIdOf(id: string): number | undefined {
  const n = Number(id.slice(id.lastIndexOf(":") + 1));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * One Bot API `Update` as core's `InboundMessage`, or `undefined` for updates that carry nothing to
 * answer (service messages such as "topic created", update kinds the adapter does not handle).
 * @see https://core.telegram.org/bots/api#update
 */
export function normalizeUpdate(
  update: Update,
  bot: BotIdentity,
  account: string,
): InboundMessage | undefined {
  if (update.callback_query) return callbackOf(update.callback_query, bot, account);
  const message = update.message ?? update.channel_post;
  if (!message) return undefined;
  const media = mediaOf(message);
  const raw = wireText(message.text) ?? wireText(message.caption) ?? "";
  if (!raw && !media.length) return undefined;
  const entities = message.entities ?? message.caption_entities ?? [];

  const chatId = String(message.chat.id);
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account,
    messageId: String(message.message_id),
    chat: { id: chatId, type: chatTypeOf(message.chat) },
    user: userOf(message, bot),
    text: raw,
    timestamp: message.date * 1000,
  };
  const chatName = chatNameOf(message.chat);
  if (chatName) inbound.chat.name = chatName;

  const thread = threadOf(message);
  if (thread) {
    inbound.threadId = thread;
    inbound.topicId = thread;
  }

  const reply = replyOf(message, bot);
  if (reply) inbound.replyTo = reply;

  const { text, mentioned } = addressedText(raw, entities, bot);
  inbound.text = text;
  if (mentioned || reply?.fromBot) inbound.mentionsBot = true;
  if (inbound.user.id === bot.id) inbound.isSelf = true;
  if (media.length) inbound.media = media;
  return inbound;
}

/**
 * A press on one of our inline-keyboard buttons (approval prompts) as the command it carries
 * (`/approve 3f9a1c`), from the user who pressed it, in the chat (and topic) of the message it sits under.
 * @see https://core.telegram.org/bots/api#callbackquery
 */
function callbackOf(
  query: NonNullable<Update["callback_query"]>,
  bot: BotIdentity,
  account: string,
): InboundMessage | undefined {
  const message = query.message;
  if (!query.data?.startsWith("/") || !message) return undefined;
  const from = query.from;
  const name = [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username;
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account,
    // Unique per press, so dedupe never drops a second press of another button.
    messageId: `cb:${query.id}`,
    chat: { id: String(message.chat.id), type: chatTypeOf(message.chat) },
    user: { id: String(from.id), isBot: from.is_bot, ...(name ? { name } : {}) },
    text: query.data,
    // Pressing the bot's own button addresses the bot, even where mentions are required.
    mentionsBot: true,
  };
  // An inaccessible (too old) message has date 0 and no thread information.
  const thread = message.date !== 0 ? threadOf(message as Message) : undefined;
  if (thread) {
    inbound.threadId = thread;
    inbound.topicId = thread;
  }
  if (String(from.id) === bot.id) inbound.isSelf = true;
  return inbound;
}

/**
 * A text field as it arrives on the wire, which need not match the Bot API types: a webhook body is
 * whatever was posted, and a bare number (`"text": 42`) must reach core as the string it stands for.
 */
function wireText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function chatTypeOf(chat: Chat): ChatType {
  if (chat.type === "private") return "dm";
  if (chat.type === "channel") return "channel";
  return "group";
}

function chatNameOf(chat: Chat): string | undefined {
  if ("title" in chat && chat.title) return chat.title;
  const c = chat as { first_name?: string; last_name?: string; username?: string };
  return [c.first_name, c.last_name].filter(Boolean).join(" ") || c.username;
}

function userOf(message: Message, bot: BotIdentity): InboundMessage["user"] {
  const from = message.from;
  if (from) {
    const name = [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username;
    const user: InboundMessage["user"] = { id: String(from.id), isBot: from.is_bot };
    if (name) user.name = name;
    return user;
  }
  // Channel posts and anonymous group admins speak as a chat.
  const sender = message.sender_chat ?? message.chat;
  const user: InboundMessage["user"] = { id: String(sender.id), isBot: false };
  const name = chatNameOf(sender);
  if (name) user.name = name;
  if (String(sender.id) === bot.id) user.isBot = true;
  return user;
}

/**
 * Forum topics: `message_thread_id` of a topic message; the General topic has none and is "1".
 * Outside forums `message_thread_id` only marks a reply chain, which is not a thread for routing.
 */
function threadOf(message: Message): string | undefined {
  const chat = message.chat as { is_forum?: boolean };
  if (message.chat.type === "supergroup" && chat.is_forum) {
    return message.is_topic_message && message.message_thread_id
      ? String(message.message_thread_id)
      : GENERAL_TOPIC;
  }
  // Private chats with topics (Bot API 9.3) mark topic messages the same way.
  if (message.chat.type === "private" && message.is_topic_message && message.message_thread_id) {
    return String(message.message_thread_id);
  }
  return undefined;
}

function replyOf(message: Message, bot: BotIdentity): InboundMessage["replyTo"] | undefined {
  const to = message.reply_to_message;
  if (!to) return undefined;
  // Inside a topic every message "replies" to the topic's opening service message; that is not a reply.
  if (to.forum_topic_created || (message.is_topic_message && to.message_id === message.message_thread_id)) {
    return undefined;
  }
  const reply: NonNullable<InboundMessage["replyTo"]> = {
    messageId: String(to.message_id),
    fromBot: String(to.from?.id) === bot.id,
  };
  const text = wireText(to.text) ?? wireText(to.caption);
  if (text) reply.text = text;
  return reply;
}

/**
 * Whether the entities address this bot, and the text with the bot's own `@name` removed where it is
 * only addressing: a leading mention (`@bot hello` → `hello`) and a command suffix (`/new@bot` → `/new`).
 * A command addressed to another bot (`/new@otherbot`) is left untouched.
 */
function addressedText(
  text: string,
  entities: readonly MessageEntity[],
  bot: BotIdentity,
): { text: string; mentioned: boolean } {
  const handle = `@${bot.username}`.toLowerCase();
  let mentioned = false;
  let out = text;
  // Work from the end so earlier offsets (UTF-16, like JS strings) stay valid while cutting.
  const sorted = [...entities].sort((a, b) => b.offset - a.offset);
  for (const e of sorted) {
    const part = text.slice(e.offset, e.offset + e.length);
    if (e.type === "mention" && part.toLowerCase() === handle) {
      mentioned = true;
      // A bare "@bot" keeps its text, so core still sees a message to answer.
      if (e.offset === 0 && out.slice(e.length).trim()) out = out.slice(e.length).replace(/^[\s,:]+/, "");
    } else if (e.type === "text_mention" && String(e.user.id) === bot.id) {
      mentioned = true;
    } else if (e.type === "bot_command") {
      const at = part.indexOf("@");
      if (at >= 0 && part.slice(at).toLowerCase() === handle) {
        mentioned = true;
        out = out.slice(0, e.offset + at) + out.slice(e.offset + e.length);
      }
    }
  }
  return { text: out, mentioned };
}
