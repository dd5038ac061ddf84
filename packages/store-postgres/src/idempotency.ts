import {
  claimOf,
  type IdempotencyClaim,
  type IdempotencyRow,
  type IdempotencyTable,
} from "@switchboard/core";
import { type Pool, transaction } from "./pool.ts";

/** `Idempotency-Key` claims and their answers (table `idempotency_keys`), shared by every replica. */
export function idempotencyTable(pool: Pool, clock: () => number): IdempotencyTable {
  return {
    claim: (key, fingerprint, holder, expiresAt, now = clock()) =>
      transaction(pool, async (q): Promise<IdempotencyClaim> => {
        await q.query("DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= $2", [key, now]);
        const inserted = await q.query(
          `INSERT INTO idempotency_keys (key, fingerprint, holder, expires_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO NOTHING`,
          [key, fingerprint, holder, expiresAt],
        );
        // Now and then, the expired keys of others go too (the index keeps it a range delete).
        if (Math.random() < 0.05) await q.query("DELETE FROM idempotency_keys WHERE expires_at <= $1", [now]);
        if ((inserted.rowCount ?? 0) > 0) return { state: "claimed" };
        const r = await q.query<IdempotencyRow>(
          "SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE key = $1",
          [key],
        );
        const row = r.rows[0];
        // Gone between the insert and the read (its holder forgot it): claim it on the next try.
        if (!row) return { state: "pending", fingerprint };
        return claimOf(row);
      }),
    finish: async (key, holder, r, expiresAt) => {
      const res = await pool.query(
        `UPDATE idempotency_keys SET status = $1, headers = $2, body = $3, expires_at = $4
         WHERE key = $5 AND holder = $6`,
        [r.status, JSON.stringify(r.headers), Buffer.from(r.body), expiresAt, key, holder],
      );
      return (res.rowCount ?? 0) > 0;
    },
    forget: async (key, holder) => {
      const res = await pool.query("DELETE FROM idempotency_keys WHERE key = $1 AND holder = $2", [
        key,
        holder,
      ]);
      return (res.rowCount ?? 0) > 0;
    },
  };
}
