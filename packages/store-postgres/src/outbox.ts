import { type OutboxRow, type OutboxTable, outboxItemOf } from "@switchboard/core";
import type { Pool } from "./pool.ts";

/** Sends forwarded to an account's holder (table `outbox`); `take` skips rows another holder has locked. */
export function outboxTable(pool: Pool, clock: () => number): OutboxTable {
  return {
    async put(item, now = clock()) {
      const r = await pool.query<{ id: string | number }>(
        `INSERT INTO outbox (platform, account, address, text, message, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [
          item.address.platform,
          item.address.account,
          JSON.stringify(item.address),
          item.text,
          JSON.stringify(item.message),
          now,
        ],
      );
      return Number(r.rows[0]!.id);
    },
    async take(platform, account, holder, limit, staleMs, now = clock()) {
      const r = await pool.query<OutboxRow>(
        `UPDATE outbox SET taken_by = $1, taken_at = $2 WHERE id IN (
           SELECT id FROM outbox WHERE platform = $3 AND account = $4 AND (taken_at IS NULL OR taken_at <= $5)
           ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED)
         RETURNING id, address, text, message, created_at AS "createdAt"`,
        [holder, now, platform, account, now - staleMs, limit],
      );
      return r.rows.map(outboxItemOf).sort((a, b) => a.id - b.id);
    },
    async done(id) {
      await pool.query("DELETE FROM outbox WHERE id = $1", [id]);
    },
  };
}
