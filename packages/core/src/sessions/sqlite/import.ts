import type { Database } from "better-sqlite3";
import type { ImportedSession, ImportResult } from "../import.ts";

/** Write whole sessions (rows with their own ids and times, and their messages) in one transaction. */
export function importSessionsInto(db: Database, items: readonly ImportedSession[]): ImportResult {
  const exists = db.prepare("SELECT 1 FROM sessions WHERE id = ?").pluck();
  const insertSession =
    db.prepare(`INSERT INTO sessions (id, session_key, agent_id, platform, account, chat_id,
    chat_type, thread_id, user_id, model, started_at, updated_at, ended_at, end_reason, message_count, input_tokens,
    output_tokens, title) VALUES (@id, @sessionKey, @agentId, @platform, @account, @chatId, @chatType, @threadId,
    @userId, @model, @startedAt, @updatedAt, @endedAt, @endReason, @messageCount, @inputTokens, @outputTokens, @title)`);
  const insertMessage = db.prepare(
    "INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const run = db.transaction(() => {
    const result: ImportResult = { sessions: 0, messages: 0, skipped: [] };
    for (const { session, messages } of items) {
      if (exists.get(session.id)) {
        result.skipped.push(session.id);
        continue;
      }
      const last = messages.reduce((t, m) => Math.max(t, m.createdAt ?? 0), 0);
      insertSession.run({
        ...session,
        updatedAt: Math.max(session.updatedAt, last),
        messageCount: messages.length,
      });
      for (const m of messages) {
        insertMessage.run(
          session.id,
          m.role,
          m.content,
          m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls),
          m.toolCallId ?? null,
          m.createdAt ?? session.startedAt,
        );
      }
      result.sessions++;
      result.messages += messages.length;
    }
    return result;
  });
  return run.immediate();
}
