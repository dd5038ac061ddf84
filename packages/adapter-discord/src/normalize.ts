import type { ChatType, InboundMessage } from "@switchboard/core";
import { ChannelType, type Message } from "discord.js";
import { mediaOf } from "./media.ts";
import { PLATFORM } from "./types.ts";

/** Who "the bot" is for one account: set once the gateway session is ready. */
export interface BotIdentity {
  account: string;
  /** The bot user's id (`client.user.id`). */
  id: string;
  /** The bot's display name, substituted for a mention in the middle of a sentence. */
  name: string;
}

/** Where a message was posted, in routing terms. */
export interface ChatPlace {
  type: ChatType;
  /** The channel id; for a thread, the thread's own id. */
  id: string;
  name?: string;
  /** Set for threads: the thread id again (session keys read `thread:<tid>:<tid>`). */
  threadId?: string;
  /** Set for threads: the channel (or forum) the thread belongs to. */
  parentChatId?: string;
  guildId?: string;
}

/** The chat a message belongs to: guild channels are `group`, threads `thread`, DMs `dm`. */
export function placeOf(message: Message): ChatPlace {
  const channel = message.channel;
  if (channel.isThread()) {
    const place: ChatPlace = { type: "thread", id: channel.id, threadId: channel.id };
    if (channel.parentId) place.parentChatId = channel.parentId;
    if (channel.name) place.name = channel.name;
    if (message.guildId) place.guildId = message.guildId;
    return place;
  }
  if (channel.type === ChannelType.DM || channel.type === ChannelType.GroupDM || !message.inGuild()) {
    return { type: "dm", id: channel.id };
  }
  const place: ChatPlace = { type: "group", id: channel.id, guildId: message.guildId };
  if ("name" in channel && typeof channel.name === "string") place.name = channel.name;
  return place;
}

/** The ids of this bot's managed role(s) the message pinged: users often pick the role instead of the bot. */
function botRoleMentions(message: Message, botId: string): string[] {
  return message.mentions.roles.filter((role) => role.tags?.botId === botId).map((role) => role.id);
}

/**
 * The message is addressed to the bot: it pings the bot (user or managed-role mention), replies to one of its
 * messages, or is posted in a thread the bot opened itself (`auto_thread`), where the whole conversation is
 * with the bot and nobody should have to keep mentioning it.
 */
export function mentionsBot(message: Message, botId: string): boolean {
  if (message.mentions.users.has(botId)) return true;
  if (message.channel.isThread() && message.channel.ownerId === botId) return true;
  if (message.mentions.repliedUser?.id === botId) return true;
  return botRoleMentions(message, botId).length > 0;
}

/**
 * Remove the bot's mention markup: dropped at the start or end of the text (`<@bot> help` → `help`), and
 * replaced by `@name` inside a sentence so it still reads (`ask <@bot> later` → `ask @name later`).
 */
export function stripBotMention(
  text: string,
  botId: string,
  botName: string,
  roleIds: readonly string[] = [],
): string {
  const ids = [`@!?${botId}`, ...roleIds.map((r) => `@&${r}`)].join("|");
  const token = `<(?:${ids})>`;
  const edges = new RegExp(`^(?:\\s*${token})+[\\s,:]*|(?:\\s*${token})+\\s*$`, "g");
  return text.replace(edges, "").replace(new RegExp(token, "g"), `@${botName}`).trim();
}

/** Epoch ms from the message's snowflake id; `undefined` for ids that are not snowflakes. */
function timestampOf(message: Message): number | undefined {
  try {
    return message.createdTimestamp;
  } catch {
    return undefined;
  }
}

/** A discord.js message as core's `InboundMessage`, seen from the bot `bot`. */
export function normalizeMessage(message: Message, bot: BotIdentity): InboundMessage {
  const place = placeOf(message);
  const author = message.author;
  const roleIds = place.type === "dm" ? [] : botRoleMentions(message, bot.id);
  const chat: InboundMessage["chat"] = { id: place.id, type: place.type };
  if (place.name) chat.name = place.name;
  const user: InboundMessage["user"] = {
    id: author.id,
    name: message.member?.displayName ?? author.globalName ?? author.username,
    isBot: author.bot,
  };
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account: bot.account,
    messageId: message.id,
    chat,
    user,
    text: stripBotMention(message.content, bot.id, bot.name, roleIds),
    mentionsBot: mentionsBot(message, bot.id),
    isSelf: author.id === bot.id,
  };
  if (place.threadId) inbound.threadId = place.threadId;
  if (place.parentChatId) inbound.parentChatId = place.parentChatId;
  if (place.guildId) inbound.guildId = place.guildId;
  const replyId = message.reference?.messageId;
  if (replyId && message.reference?.channelId === message.channelId) {
    const replyTo: NonNullable<InboundMessage["replyTo"]> = { messageId: replyId };
    const referenced = message.channel.messages.cache.get(replyId);
    if (referenced) {
      replyTo.text = referenced.content;
      replyTo.fromBot = referenced.author.id === bot.id;
    } else if (message.mentions.repliedUser) {
      replyTo.fromBot = message.mentions.repliedUser.id === bot.id;
    }
    inbound.replyTo = replyTo;
  }
  if (message.attachments.size > 0) inbound.media = message.attachments.map(mediaOf);
  const timestamp = timestampOf(message);
  if (timestamp !== undefined && Number.isFinite(timestamp)) inbound.timestamp = timestamp;
  return inbound;
}
