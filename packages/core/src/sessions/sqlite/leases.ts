import type { Database } from "better-sqlite3";
import type { LeaseTable } from "../store-types.ts";
import type { WriteBatcher } from "./write-batch.ts";

/** Leases in the `cron_leases` table (`job_key` is the lease name). */
export function leaseTable(db: Database, writes: WriteBatcher, clock: () => number): LeaseTable {
  const stmt = {
    acquire: db.prepare(
      `INSERT INTO cron_leases(job_key, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(job_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE cron_leases.expires_at < ?`,
    ),
    renew: db.prepare("UPDATE cron_leases SET expires_at = ? WHERE job_key = ? AND holder = ?"),
    release: db.prepare("DELETE FROM cron_leases WHERE job_key = ? AND holder = ?"),
    holder: db.prepare(
      "SELECT holder, expires_at AS expiresAt FROM cron_leases WHERE job_key = ? AND expires_at >= ?",
    ),
  };
  return {
    acquire: (name, holder, ttlMs, now = clock()) =>
      writes.run(() => stmt.acquire.run(name, holder, now + ttlMs, now).changes === 1),
    renew: (name, holder, ttlMs, now = clock()) =>
      writes.run(() => stmt.renew.run(now + ttlMs, name, holder).changes === 1),
    release: (name, holder) => writes.run(() => stmt.release.run(name, holder).changes === 1),
    holder: (name, now = clock()) =>
      writes.read(() => stmt.holder.get(name, now) as { holder: string; expiresAt: number } | undefined),
  };
}
