import type { SessionStore } from "@switchboard/core";
import type { PoolClient } from "pg";
import { adapterStateStore } from "./adapter-state.ts";
import { inboundDedupe } from "./dedupe.ts";
import { idempotencyTable } from "./idempotency.ts";
import { importSessionsInto } from "./import.ts";
import { leaseTable } from "./leases.ts";
import { migratePostgres } from "./migrations.ts";
import { auditLog, rateBuckets, usageLedger } from "./operations.ts";
import { outboxTable } from "./outbox.ts";
import { chatAgentTable, pairingTable } from "./pairing.ts";
import { createPool, describeUrl, type Pool, storeOpenError } from "./pool.ts";
import { responseTable } from "./responses.ts";
import { runTable } from "./runs.ts";
import { searchMessages } from "./search.ts";
import { sessionOperations } from "./sessions.ts";

export const DEFAULT_POOL_SIZE = 10;
const WRITE_PROBE_TIMEOUT_MS = 250;

export interface PostgresStoreOptions {
  /** Connections at most (`store.pool`, default 10). */
  pool?: number;
  /** The clock, epoch ms (tests inject one to drive reset policies). */
  now?: () => number;
  /** Told about errors of idle connections (they are replaced on the next query). */
  onError?: (err: Error) => void;
}

/** The PostgreSQL session store: the shared `SessionStore` contract, plus what replicas coordinate through. */
export interface PostgresStore extends SessionStore {
  /** The connection pool (for the replica coordination built on this store: advisory locks, LISTEN/NOTIFY). */
  readonly pool: Pool;
}

/**
 * Open the store at `url`: a pool of `pool` connections, migrated to the current schema (N replicas starting
 * together migrate once). Rejects with what to fix when the server cannot be reached or used.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const clock = options.now ?? Date.now;
  const pool = createPool(url, {
    max: options.pool ?? DEFAULT_POOL_SIZE,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw storeOpenError(url, err);
  }
  const sessions = sessionOperations(pool, clock);
  const runs = runTable(pool, clock);
  let closed = false;

  const checkWritable = async (timeoutMs = WRITE_PROBE_TIMEOUT_MS) => {
    if (closed) return { ok: false as const, reason: "the session store is closed" };
    const ms = Math.max(1, Math.trunc(timeoutMs));
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      await client.query("BEGIN");
      // A real write, rolled back: a read-only replica, a full disk or a held lock fail here as an append would.
      await client.query(`SET LOCAL lock_timeout = ${ms}`);
      await client.query(`SET LOCAL statement_timeout = ${ms * 4}`);
      await client.query(
        "INSERT INTO kv (key, value) VALUES ('health.write_probe', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(clock())],
      );
      await client.query("ROLLBACK");
      return { ok: true as const };
    } catch (err) {
      await client?.query("ROLLBACK").catch(() => {});
      const code = (err as { code?: string }).code;
      return { ok: false as const, reason: `${(err as Error).message} (${code ?? "error"})` };
    } finally {
      client?.release();
    }
  };

  return {
    location: describeUrl(url),
    pool,
    getOrCreate: sessions.getOrCreate,
    findActive: sessions.findActive,
    get: sessions.get,
    ensure: sessions.ensure,
    end: sessions.end,
    setModel: sessions.setModel,
    resume: sessions.resume,
    append: sessions.append,
    addUsage: sessions.addUsage,
    rewind: sessions.rewind,
    setTitle: sessions.setTitle,
    setParent: sessions.setParent,
    parentOf: sessions.parentOf,
    children: sessions.children,
    history: sessions.history,
    list: sessions.list,
    search: (query, opts) => searchMessages(pool, query, opts),
    importSessions: (items) => importSessionsInto(pool, items),
    responses: responseTable(pool, clock),
    runs,
    idempotency: idempotencyTable(pool, clock),
    outbox: outboxTable(pool, clock),
    usage: usageLedger(pool, clock),
    audit: auditLog(pool, clock),
    rates: rateBuckets(pool),
    leases: leaseTable(pool, clock),
    inbound: inboundDedupe(pool, clock),
    adapterState: adapterStateStore(pool),
    pairing: pairingTable(pool, clock),
    chatAgents: chatAgentTable(pool, clock),
    checkWritable,
    async probe() {
      const started = performance.now();
      const check = await checkWritable();
      const latencyMs = performance.now() - started;
      return check.ok ? { writable: true, latencyMs } : { writable: false, latencyMs, error: check.reason };
    },
    async close() {
      if (closed) return;
      closed = true;
      await runs.close();
      await pool.end();
    },
  };
}
