import { createHash } from "node:crypto";
import type { ChatMessage, SessionSource } from "@switchboard/core";
import { textOf } from "./convert.ts";

/** Where a turn's transcript lives. */
export interface SessionPlan {
  /** The id the caller sees (X-Switchboard-Session-Id): its own header value, or one derived for it. */
  publicId: string;
  /** The stored session id: namespaced by agent, so one public id sent to two agents is two sessions. */
  sessionId: string;
  sessionKey: string;
}

/**
 * Agent ids never contain `:`, so `api:<agent>:<id>` cannot collide across agents whatever the public id holds.
 * A session key (X-Switchboard-Session-Key / X-Hermes-Session-Key) groups the sessions of one long-lived scope
 * under one key; without it each public id is its own key.
 */
export function sessionFor(agentId: string, publicId: string, sessionKey?: string): SessionPlan {
  return {
    publicId,
    sessionId: `api:${agentId}:${publicId}`,
    sessionKey: sessionKey
      ? `agent:${agentId}:api_server:key:${sessionKey}`
      : `agent:${agentId}:api_server:session:${publicId}`,
  };
}

/**
 * A stable id for a conversation that carries its history in the body (Open WebUI and friends): the same
 * agent, caller (key and routing headers), system text and first user message map to the same stored
 * session on every request.
 */
export function derivedSessionId(
  agentId: string,
  principalId: string,
  source: SessionSource,
  extraSystem: string | undefined,
  messages: readonly ChatMessage[],
): string {
  const h = createHash("sha256");
  h.update(
    `${agentId}\u0000${principalId}\u0000${source.chatId ?? ""}\u0000${source.userId ?? ""}\u0000${source.threadId ?? ""}`,
  );
  h.update(`\u0000${extraSystem ?? ""}`);
  // Only the first user message: it exists from the first turn on, so every later turn maps to the same id.
  const first = messages.find((m) => m.role === "user");
  if (first) h.update(`\u0000${textOf(first.content)}`);
  return `api-${h.digest("hex").slice(0, 16)}`;
}
