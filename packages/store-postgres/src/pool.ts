import { listening, publish } from "@switchboard/core";
import pg from "pg";

export type Pool = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Type parsers of this store's pools only (the global `pg.types` stays as other users of `pg` expect):
 * BIGINT (times in epoch ms, ids, counters) and the NUMERIC of SUM() arrive as numbers, as from SQLite.
 */
const TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export interface PoolOptions {
  /** Connections at most (`store.pool`). */
  max: number;
  /** Called with an error of an idle connection (the server restarted, the network dropped it). */
  onError?: (err: Error) => void;
}

/** Where a URL points, without its password, for error messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "the configured PostgreSQL URL";
  }
}

export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    types: TYPES,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: "switchboard",
  });
  // An idle client's error is emitted on the pool: unhandled, it would end the process.
  pool.on("error", (err) => options.onError?.(err));
  return pool;
}

/**
 * Time a write for the `store` telemetry fact (the `switchboard_store_write_duration_seconds` metric), at no
 * cost while nobody listens.
 */
export async function timedWrite<T>(fn: () => Promise<T>): Promise<T> {
  if (!listening("store")) return fn();
  const started = performance.now();
  try {
    const value = await fn();
    publish("store", { op: "commit", durationMs: performance.now() - started, ok: true });
    return value;
  } catch (err) {
    publish("store", { op: "commit", durationMs: performance.now() - started, ok: false });
    throw err;
  }
}

/** Run `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
export function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return timedWrite(() => inTransaction(pool, fn));
}

async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const value = await fn(client);
    await client.query("COMMIT");
    return value;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Why the store at `url` cannot be opened, and what the operator can do about it. */
export function storeOpenError(url: string, err: unknown): Error {
  const code = String((err as { code?: unknown }).code ?? "");
  const reason = (err as Error)?.message ?? String(err);
  const where = describeUrl(url);
  let advice: string;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "EHOSTUNREACH") {
    advice = "nothing answers there: check store.url (host and port) and that the server is running";
  } else if (code === "28P01" || code === "28000") {
    advice = "the server refused the credentials: check the user and password in store.url";
  } else if (code === "3D000") {
    advice = "that database does not exist: create it (createdb) or fix the database name in store.url";
  } else if (code === "42501") {
    advice =
      "the user may not create the store's tables or extensions (pg_trgm, unaccent): make it the owner of the database, or run the first start as the owner";
  } else if (code === "0A000" || /extension .* is not available/i.test(reason)) {
    advice =
      "the server lacks the pg_trgm or unaccent extension: install the PostgreSQL contrib modules (Debian: postgresql-contrib, included in postgresql)";
  } else {
    advice = "check store.url and the server's log";
  }
  return new Error(
    `cannot open the PostgreSQL store ${where}: ${reason}${code ? ` (${code})` : ""}; ${advice}.`,
    {
      cause: err,
    },
  );
}
