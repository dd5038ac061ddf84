import { type InboundDedupe, type InboxRow, unansweredOf } from "@switchboard/core";
import type { Pool } from "./pool.ts";

/**
 * Inbound messages already seen by any replica (the primary key of `inbound_seen` decides), and each session's
 * inbox: the claims `getOrCreate` made into it, not answered yet.
 */
export function inboundDedupe(pool: Pool, clock: () => number): InboundDedupe {
  return {
    async claim(key, now = clock()) {
      const r = await pool.query({
        name: "sb_inbound_claim",
        text: `INSERT INTO inbound_seen (platform, account, chat_id, message_id, seen_at) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT DO NOTHING`,
        values: [key.platform, key.account, key.chatId, key.messageId, now],
      });
      return r.rowCount === 1;
    },
    async prune(before) {
      return (await pool.query("DELETE FROM inbound_seen WHERE seen_at < $1", [before])).rowCount ?? 0;
    },
    async unanswered(sessionId) {
      const r = await pool.query<InboxRow>({
        name: "sb_inbox_unanswered",
        text: `SELECT i.platform, i.account, i.chat_id, i.message_id, i.session_id, i.stored_id, i.seen_at, m.content
          FROM inbound_seen i JOIN messages m ON m.id = i.stored_id
          WHERE i.session_id = $1 AND i.answered_at IS NULL ORDER BY i.stored_id`,
        values: [sessionId],
      });
      return r.rows.map(unansweredOf);
    },
    async answer(sessionId, storedIds, now = clock()) {
      if (storedIds.length === 0) return 0;
      const r = await pool.query({
        name: "sb_inbox_answer",
        text: `UPDATE inbound_seen SET answered_at = $1
          WHERE session_id = $2 AND stored_id = ANY($3::bigint[]) AND answered_at IS NULL`,
        values: [now, sessionId, storedIds.map(String)],
      });
      return r.rowCount ?? 0;
    },
    async stalled(before, limit = 100) {
      const r = await pool.query<{ session_id: string }>({
        name: "sb_inbox_stalled",
        text: `SELECT DISTINCT session_id FROM inbound_seen
          WHERE session_id IS NOT NULL AND answered_at IS NULL AND seen_at < $1 LIMIT $2`,
        values: [before, limit],
      });
      return r.rows.map((row) => row.session_id);
    },
  };
}
