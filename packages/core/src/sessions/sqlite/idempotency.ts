import type { Database } from "better-sqlite3";
import type { IdempotencyClaim, IdempotencyTable } from "../idempotency.ts";
import type { WriteBatcher } from "./write-batch.ts";

interface Row {
  fingerprint: string;
  status: number | null;
  headers: string | null;
  body: Buffer | null;
}

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
    return claimOf(stmt.get.get(key) as Row);
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

/** A row another request holds, as `claim` reports it (shared with the PostgreSQL store). */
export function claimOf(row: Row): IdempotencyClaim {
  if (row.status === null || row.status === undefined)
    return { state: "pending", fingerprint: row.fingerprint };
  const body = row.body ?? Buffer.alloc(0);
  return {
    state: "done",
    fingerprint: row.fingerprint,
    response: {
      status: row.status,
      headers: JSON.parse(row.headers ?? "[]") as [string, string][],
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    },
  };
}
