import type { ResponseRetention, ResponseTable, StoredResponseRecord } from "@switchboard/core";
import { type Pool, transaction } from "./pool.ts";

/** How many of the oldest rows one eviction step looks at. */
const EVICT_BATCH = 64;
/** Puts from every replica take turns: the byte budget is checked against one total. */
const RESPONSES_LOCK = 0x53_42_52_53; // "SBRS"

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

/** Stored Responses API responses (table `responses`), bounded by age and by total size. */
export function responseTable(pool: Pool, clock: () => number): ResponseTable {
  const total = async (q: Pick<Pool, "query"> = pool) =>
    (await q.query<{ n: number }>("SELECT COALESCE(SUM(bytes), 0) AS n FROM responses")).rows[0]!.n;
  return {
    put: (r: StoredResponseRecord, retention: ResponseRetention) => {
      const messages = JSON.stringify(r.messages);
      const body = JSON.stringify(r.body);
      const inputItems = JSON.stringify(r.inputItems ?? []);
      const size = Buffer.byteLength(messages) + Buffer.byteLength(body) + Buffer.byteLength(inputItems);
      if (size > retention.maxBytes) return Promise.resolve(false);
      return transaction(pool, async (q) => {
        await q.query("SELECT pg_advisory_xact_lock($1)", [RESPONSES_LOCK]);
        await q.query("DELETE FROM responses WHERE created_at < $1", [clock() - retention.maxAgeMs]);
        await q.query("DELETE FROM responses WHERE id = $1", [r.id]);
        let used = await total(q);
        while (used + size > retention.maxBytes) {
          const victims = await q.query<{ id: string; bytes: number }>(
            "SELECT id, bytes FROM responses ORDER BY created_at, id LIMIT $1",
            [EVICT_BATCH],
          );
          if (victims.rows.length === 0) break;
          const drop: string[] = [];
          for (const v of victims.rows) {
            if (used + size <= retention.maxBytes) break;
            drop.push(v.id);
            used -= v.bytes;
          }
          await q.query("DELETE FROM responses WHERE id = ANY($1::text[])", [drop]);
        }
        await q.query(
          `INSERT INTO responses (id, owner, agent_id, public_session_id, messages, body, input_items, bytes, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [r.id, r.owner, r.agentId, r.publicSessionId, messages, body, inputItems, size, r.createdAt],
        );
        return true;
      });
    },
    async get(id: string, maxAgeMs: number) {
      const res = await pool.query<Row>(
        `SELECT id, owner, agent_id AS "agentId", public_session_id AS "publicSessionId", messages, body,
          input_items AS "inputItems", created_at AS "createdAt" FROM responses WHERE id = $1 AND created_at >= $2`,
        [id, clock() - maxAgeMs],
      );
      const row = res.rows[0];
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
    },
    async delete(id: string) {
      return ((await pool.query("DELETE FROM responses WHERE id = $1", [id])).rowCount ?? 0) > 0;
    },
    bytes: () => total(),
  };
}
