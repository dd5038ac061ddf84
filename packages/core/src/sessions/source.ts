import type { ChatType, InboundMessage } from "../platform.ts";

/** Where a message came from, normalized: the input of routing and of session keys. */
export interface SessionSource {
  platform: string;
  /** The receiving account; `undefined` or `"default"` means the platform's default account. */
  account?: string;
  chatType: ChatType;
  chatId?: string;
  threadId?: string;
  topicId?: string;
  parentChatId?: string;
  guildId?: string;
  userId?: string;
  userIdAlt?: string;
  userName?: string;
  chatName?: string;
  /** The agent that serves this source; `undefined` means `main`. */
  agentId?: string;
}

/** The `SessionSource` of an inbound platform message. */
export function sourceOf(inbound: InboundMessage, agentId?: string): SessionSource {
  const s: SessionSource = {
    platform: inbound.platform,
    account: inbound.account,
    chatType: inbound.chat.type,
    chatId: inbound.chat.id,
  };
  if (inbound.threadId !== undefined) s.threadId = inbound.threadId;
  if (inbound.topicId !== undefined) s.topicId = inbound.topicId;
  if (inbound.parentChatId !== undefined) s.parentChatId = inbound.parentChatId;
  if (inbound.guildId !== undefined) s.guildId = inbound.guildId;
  if (inbound.user.id) s.userId = inbound.user.id;
  if (inbound.user.idAlt !== undefined) s.userIdAlt = inbound.user.idAlt;
  if (inbound.user.name !== undefined) s.userName = inbound.user.name;
  if (inbound.chat.name !== undefined) s.chatName = inbound.chat.name;
  if (agentId !== undefined) s.agentId = agentId;
  return s;
}
