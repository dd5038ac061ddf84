import type { LeaseTable } from "@switchboard/core";
import type { Pool } from "./pool.ts";

/**
 * Named leases in `cron_leases` (name, holder, expiry): one holder at a time across every replica. Each
 * operation is one statement, so the check and the write are one atomic step. A lease is held while
 * `expires_at >= now` (the SQLite store's rule); its holder may renew it until another holder takes it.
 */
export function leaseTable(pool: Pool, clock: () => number): LeaseTable {
  return {
    async acquire(name, holder, ttlMs, now = clock()) {
      const r = await pool.query(
        `INSERT INTO cron_leases (job_key, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (job_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE cron_leases.expires_at < $4`,
        [name, holder, now + ttlMs, now],
      );
      return r.rowCount === 1;
    },
    async renew(name, holder, ttlMs, now = clock()) {
      const r = await pool.query(
        "UPDATE cron_leases SET expires_at = $3 WHERE job_key = $1 AND holder = $2",
        [name, holder, now + ttlMs],
      );
      return r.rowCount === 1;
    },
    async release(name, holder) {
      const r = await pool.query("DELETE FROM cron_leases WHERE job_key = $1 AND holder = $2", [
        name,
        holder,
      ]);
      return r.rowCount === 1;
    },
    async holder(name, now = clock()) {
      const r = await pool.query<{ holder: string; expiresAt: number }>(
        `SELECT holder, expires_at AS "expiresAt" FROM cron_leases WHERE job_key = $1 AND expires_at >= $2`,
        [name, now],
      );
      return r.rows[0];
    },
  };
}
