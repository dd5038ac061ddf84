import type { ImportedSession, ImportResult } from "@switchboard/core";
import { type Pool, transaction } from "./pool.ts";

/** PostgreSQL text cannot hold U+0000; SQLite's can. It is dropped on the way in. */
export const stripNul = (s: string) => (s.includes("\u0000") ? s.replaceAll("\u0000", "") : s);

/** Write whole sessions (rows with their own ids and times, and their messages) in one transaction. */
export function importSessionsInto(pool: Pool, items: readonly ImportedSession[]): Promise<ImportResult> {
  return transaction(pool, async (q) => {
    const result: ImportResult = { sessions: 0, messages: 0, skipped: [] };
    for (const { session, messages } of items) {
      const last = messages.reduce((t, m) => Math.max(t, m.createdAt ?? 0), 0);
      const inserted = await q.query(
        `INSERT INTO sessions (id, session_key, agent_id, platform, account, chat_id, chat_type, thread_id, user_id,
          model, started_at, updated_at, ended_at, end_reason, message_count, input_tokens, output_tokens, title)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (id) DO NOTHING`,
        [
          session.id,
          session.sessionKey,
          session.agentId,
          session.platform,
          session.account,
          session.chatId,
          session.chatType,
          session.threadId,
          session.userId,
          session.model,
          session.startedAt,
          Math.max(session.updatedAt, last),
          session.endedAt,
          session.endReason,
          messages.length,
          session.inputTokens,
          session.outputTokens,
          session.title,
        ],
      );
      if (inserted.rowCount !== 1) {
        result.skipped.push(session.id);
        continue;
      }
      if (messages.length > 0) {
        await q.query(
          `INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, created_at)
           SELECT $1, m.role, m.content, m.tool_calls, m.tool_call_id, m.created_at
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY
             AS m(role, content, tool_calls, tool_call_id, created_at, ord) ORDER BY m.ord`,
          [
            session.id,
            messages.map((m) => m.role),
            messages.map((m) => stripNul(m.content)),
            messages.map((m) => (m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls))),
            messages.map((m) => m.toolCallId ?? null),
            messages.map((m) => m.createdAt ?? session.startedAt),
          ],
        );
      }
      result.sessions++;
      result.messages += messages.length;
    }
    return result;
  });
}
