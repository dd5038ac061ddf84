import { DEFAULT_ACCOUNT } from "../platform.ts";
import type { SessionSource } from "./source.ts";

export interface SessionKeyOptions {
  /** In groups, one session per participant (default true). */
  groupPerUser?: boolean;
  /** Inside a thread, one session per participant (default false: the thread is shared). */
  threadPerUser?: boolean;
}

/**
 * The session key of a source (DESIGN §5), byte-compatible with the upstream gateway:
 * `agent:<agent>:<platform>[@<account>]:dm:<chat>[:<thread>]` and
 * `agent:<agent>:<platform>[@<account>]:<chat_type>:<chat>[:<thread>][:<user>]`.
 */
export function buildSessionKey(source: SessionSource, options: SessionKeyOptions = {}): string {
  const groupPerUser = options.groupPerUser ?? true;
  const threadPerUser = options.threadPerUser ?? false;
  const agent = source.agentId || "main";
  const platform =
    source.account && source.account !== DEFAULT_ACCOUNT
      ? `${source.platform}@${source.account}`
      : source.platform;
  const ns = `agent:${agent}:${platform}`;
  const participant = source.userIdAlt || source.userId;

  if (source.chatType === "dm") {
    const chat = source.chatId || participant;
    if (chat) return source.threadId ? `${ns}:dm:${chat}:${source.threadId}` : `${ns}:dm:${chat}`;
    return source.threadId ? `${ns}:dm:${source.threadId}` : `${ns}:dm`;
  }
  const parts = [ns, source.chatType];
  if (source.chatId) parts.push(source.chatId);
  if (source.threadId) parts.push(source.threadId);
  const perUser = groupPerUser && !(source.threadId && !threadPerUser);
  if (perUser && participant) parts.push(participant);
  return parts.join(":");
}
