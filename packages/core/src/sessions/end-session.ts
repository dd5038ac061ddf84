import { AgentError } from "../errors.ts";
import type { SessionRecord, SessionStore } from "./store-types.ts";

/**
 * End a stored session by hand (`switchboard sessions end`, the console), in the audit log: the chat's next
 * message starts a fresh session. Throws when there is no such session or it already ended.
 */
export async function endSession(
  store: Pick<SessionStore, "get" | "end" | "audit">,
  sessionId: string,
  actor: string,
): Promise<SessionRecord> {
  const session = await store.get(sessionId);
  if (!session) throw new AgentError("session_not_found", `no session "${sessionId}"`);
  if (session.endedAt !== null)
    throw new AgentError(
      "session_ended",
      `session "${sessionId}" already ended (${session.endReason ?? "ended"}) at ${new Date(session.endedAt).toISOString()}`,
    );
  await store.end(sessionId, "ended");
  await store.audit.append({
    actor,
    action: "session.end",
    target: sessionId,
    detail: { agent: session.agentId, key: session.sessionKey },
  });
  return session;
}
