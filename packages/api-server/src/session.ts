import { createHash } from "node:crypto";
import type { ChatMessage, SessionSource } from "@switchboard/core";
import { OPEN_PRINCIPAL_ID } from "./auth.ts";
import type { ApiHonoContext } from "./context.ts";
import { textOf } from "./convert.ts";
import { identityHeader } from "./identity.ts";

/** Where a turn's transcript lives. */
export interface SessionPlan {
  /** The id the caller sees (X-Switchboard-Session-Id): its own header value, or one derived for it. */
  publicId: string;
  /** The stored session id: namespaced by agent, so one public id sent to two agents is two sessions. */
  sessionId: string;
  sessionKey: string;
}

/**
 * The stored session of a public id, namespaced by agent and by the calling key's identity: the same id sent
 * by two keys, or to two agents, is two sessions. Agent ids and key identities never contain `:`, so
 * `api:<agent>:<key>:<id>` cannot collide whatever the public id holds. Without keys the key part is left
 * out, which keeps the ids of open loopback setups what they were. A session key (X-Switchboard-Session-Key /
 * X-Hermes-Session-Key) groups the sessions of one long-lived scope under one key, namespaced the same way;
 * without it each public id is its own key.
 */
export function sessionFor(
  agentId: string,
  publicId: string,
  principalId: string,
  sessionKey?: string,
): SessionPlan {
  const scope = (id: string) => (principalId === OPEN_PRINCIPAL_ID ? id : `${principalId}:${id}`);
  const scoped = scope(publicId);
  return {
    publicId,
    sessionId: `api:${agentId}:${scoped}`,
    sessionKey: sessionKey
      ? `agent:${agentId}:api_server:key:${scope(sessionKey)}`
      : `agent:${agentId}:api_server:session:${scoped}`,
  };
}

/**
 * The session plan of an API turn, the same step for every route: the public id is the caller's
 * (X-Switchboard-Session-Id, else one the route's body names), else `fallback()`; the session key header and the
 * calling key scope it (see `sessionFor`). `given` is the id the caller sent, `undefined` when it was made up.
 */
export function planSession(
  c: ApiHonoContext,
  agentId: string,
  options: { bodyId?: string | null | undefined; fallback: () => string },
): { plan: SessionPlan; given: string | undefined } {
  const headers = c.req.raw.headers;
  const given = identityHeader(headers, "sessionId") ?? options.bodyId ?? undefined;
  const plan = sessionFor(
    agentId,
    given ?? options.fallback(),
    c.get("principal").id,
    identityHeader(headers, "sessionKey"),
  );
  return { plan, given };
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
