import type { Database } from "better-sqlite3";
import { claimOf, type IdempotencyRow, type IdempotencyTable } from "../idempotency.ts";
import type { WriteBatcher } from "./write-batch.ts";

/** The `idempotency_keys` statements over an open, migrated database. */
export function idempotencyTable(db: Database, writes: WriteBatcher, clock: () => number): IdempotencyTable {
  const stmt = {
    expire: db.prepare("DELETE FROM idempotency_keys WHERE expires_at <= ?"),
    insert:
      db.prepare(`INSERT INTO idempotency_keys (key, fingerprint, holder, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (key) DO NOTHING`),
    get: db.prepare("SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE key = ?"),
    finish: db.prepare(
      "UPDATE idempotency_keys SET status = ?, headers = ?, body = ?, expires_at = ? WHERE key = ? AND holder = ?",
    ),
    forget: db.prepare("DELETE FROM idempotency_keys WHERE key = ? AND holder = ?"),
  };
  const claim = (key: string, fingerprint: string, holder: string, expiresAt: number, now: number) => {
    stmt.expire.run(now);
    if (stmt.insert.run(key, fingerprint, holder, expiresAt).changes > 0)
      return { state: "claimed" } as const;
    return claimOf(stmt.get.get(key) as IdempotencyRow);
  };
  return {
    claim: (key, fingerprint, holder, expiresAt, now = clock()) =>
      writes.run(() => claim(key, fingerprint, holder, expiresAt, now)),
    finish: (key, holder, r, expiresAt) =>
      writes.run(
        () =>
          stmt.finish.run(r.status, JSON.stringify(r.headers), Buffer.from(r.body), expiresAt, key, holder)
            .changes > 0,
      ),
    forget: (key, holder) => writes.run(() => stmt.forget.run(key, holder).changes > 0),
  };
}
