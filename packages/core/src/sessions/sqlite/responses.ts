import type { Database } from "better-sqlite3";
import type { ResponseRetention, ResponseTable, StoredResponseRecord } from "../responses.ts";
import type { WriteBatcher } from "./write-batch.ts";

interface Row {
  id: string;
  owner: string;
  agentId: string;
  publicSessionId: string;
  messages: string;
  body: string;
  inputItems: string;
  createdAt: number;
}

/** How many of the oldest rows one eviction step looks at. */
const EVICT_BATCH = 64;

/** The response table's statements over an open, migrated database. */
export function responseTable(db: Database, writes: WriteBatcher, clock: () => number): ResponseTable {
  const stmt = {
    insert:
      db.prepare(`INSERT OR REPLACE INTO responses (id, owner, agent_id, public_session_id, messages, body,
      input_items, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare(`SELECT id, owner, agent_id AS agentId, public_session_id AS publicSessionId, messages, body,
      input_items AS inputItems, created_at AS createdAt FROM responses WHERE id = ? AND created_at >= ?`),
    delete: db.prepare("DELETE FROM responses WHERE id = ?"),
    expire: db.prepare("DELETE FROM responses WHERE created_at < ?"),
    total: db.prepare("SELECT COALESCE(SUM(bytes), 0) FROM responses").pluck(),
    oldest: db.prepare("SELECT id, bytes FROM responses ORDER BY created_at, rowid LIMIT ?"),
  };
  const total = () => stmt.total.get() as number;

  const put = (r: StoredResponseRecord, retention: ResponseRetention): boolean => {
    const messages = JSON.stringify(r.messages);
    const body = JSON.stringify(r.body);
    const inputItems = JSON.stringify(r.inputItems ?? []);
    const size = Buffer.byteLength(messages) + Buffer.byteLength(body) + Buffer.byteLength(inputItems);
    if (size > retention.maxBytes) return false;
    stmt.expire.run(clock() - retention.maxAgeMs);
    stmt.delete.run(r.id);
    let used = total();
    while (used + size > retention.maxBytes) {
      const victims = stmt.oldest.all(EVICT_BATCH) as Array<{ id: string; bytes: number }>;
      if (victims.length === 0) break;
      for (const v of victims) {
        if (used + size <= retention.maxBytes) break;
        stmt.delete.run(v.id);
        used -= v.bytes;
      }
    }
    stmt.insert.run(
      r.id,
      r.owner,
      r.agentId,
      r.publicSessionId,
      messages,
      body,
      inputItems,
      size,
      r.createdAt,
    );
    return true;
  };

  return {
    put: (record, retention) => writes.run(() => put(record, retention)),
    get: (id, maxAgeMs) =>
      writes.read(() => {
        const row = stmt.get.get(id, clock() - maxAgeMs) as Row | undefined;
        if (!row) return undefined;
        return {
          id: row.id,
          owner: row.owner,
          agentId: row.agentId,
          publicSessionId: row.publicSessionId,
          messages: JSON.parse(row.messages) as unknown[],
          body: JSON.parse(row.body) as Record<string, unknown>,
          inputItems: JSON.parse(row.inputItems) as Record<string, unknown>[],
          createdAt: row.createdAt,
        };
      }),
    delete: (id) => writes.run(() => stmt.delete.run(id).changes > 0),
    bytes: () => writes.read(total),
  };
}
