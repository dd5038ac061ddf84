import type { Database } from "better-sqlite3";
import { type OutboxRow, type OutboxTable, outboxItemOf } from "../outbox.ts";
import type { WriteBatcher } from "./write-batch.ts";

/** The `outbox` statements over an open, migrated database. */
export function outboxTable(db: Database, writes: WriteBatcher, clock: () => number): OutboxTable {
  const stmt = {
    put: db.prepare(`INSERT INTO outbox (platform, account, address, text, message, created_at)
      VALUES (?, ?, ?, ?, ?, ?)`),
    take: db.prepare(`UPDATE outbox SET taken_by = ?, taken_at = ? WHERE id IN (
        SELECT id FROM outbox WHERE platform = ? AND account = ? AND (taken_at IS NULL OR taken_at <= ?)
        ORDER BY id LIMIT ?)
      RETURNING id, address, text, message, created_at AS createdAt`),
    done: db.prepare("DELETE FROM outbox WHERE id = ?"),
  };
  return {
    put: (item, now = clock()) =>
      writes.run(() =>
        Number(
          stmt.put.run(
            item.address.platform,
            item.address.account,
            JSON.stringify(item.address),
            item.text,
            JSON.stringify(item.message),
            now,
          ).lastInsertRowid,
        ),
      ),
    take: (platform, account, holder, limit, staleMs, now = clock()) =>
      writes.run(() =>
        (stmt.take.all(holder, now, platform, account, now - staleMs, limit) as OutboxRow[])
          .map(outboxItemOf)
          .sort((a, b) => a.id - b.id),
      ),
    done: (id) => writes.run(() => void stmt.done.run(id)),
  };
}
