import type { ChatType, SessionSource } from "@switchboard/core";
import { HEADER, headerValue } from "./http.ts";

/**
 * Every spelling of each identity header, first wins: Switchboard's own, then the Hermes gateway's (so its
 * users keep their clients), then what Open WebUI forwards with `ENABLE_FORWARD_USER_INFO_HEADERS`.
 */
export const IDENTITY_HEADERS = {
  sessionId: [HEADER.sessionId, "x-hermes-session-id"],
  sessionKey: [HEADER.sessionKey, "x-hermes-session-key"],
  chatId: [HEADER.chatId, "x-hermes-chat-id", "x-openwebui-chat-id"],
  userId: [HEADER.userId, "x-hermes-user-id", "x-openwebui-user-id"],
  threadId: [HEADER.threadId, "x-hermes-thread-id"],
} as const;

/** All identity header names, for validation and CORS. */
export const ALL_IDENTITY_HEADERS: readonly string[] = Object.values(IDENTITY_HEADERS).flat();

/** The first present spelling of an identity header, trimmed; empty counts as absent. */
export function identityHeader(headers: Headers, which: keyof typeof IDENTITY_HEADERS): string | undefined {
  for (const name of IDENTITY_HEADERS[which]) {
    const v = headerValue(headers, name);
    if (v) return v;
  }
  return undefined;
}

/**
 * The caller's identity as a synthetic `api_server` source: a thread when a thread id is given, a group when
 * a chat has a distinct user in it (so `group_per_user` keys apply), otherwise a DM. The body's `user`
 * field stands in for a missing user header.
 */
export function sourceOfRequest(headers: Headers, bodyUser?: string | null): SessionSource {
  const chatId = identityHeader(headers, "chatId");
  const userId = identityHeader(headers, "userId") ?? (bodyUser?.trim() || undefined);
  const threadId = identityHeader(headers, "threadId");
  const chatType: ChatType = threadId ? "thread" : chatId && userId && chatId !== userId ? "group" : "dm";
  const source: SessionSource = { platform: "api_server", chatType };
  if (chatId) source.chatId = chatId;
  if (userId) source.userId = userId;
  if (threadId) source.threadId = threadId;
  return source;
}
