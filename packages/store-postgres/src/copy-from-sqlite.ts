import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { FTS_WATERMARK_KEY, openSessionStore, USAGE_FOLD_KEY } from "@switchboard/core";
import BetterSqlite3 from "better-sqlite3";
import type { PoolClient } from "pg";
import { stripNul } from "./import.ts";
import { migratePostgres } from "./migrations.ts";
import { createPool, type Pool, transaction } from "./pool.ts";

/**
 * Tables of a SQLite store that are not data to keep: its own catalog, the FTS5 index (PostgreSQL indexes
 * itself), API runs (kept an hour, executed by the process that started them: none survives the move), and
 * the replicas' short-lived `Idempotency-Key` claims and forwarded sends.
 */
const SKIP_TABLE = /^(sqlite_|messages_fts|runs$|run_events$|run_answers$|idempotency_keys$|outbox$)/;
/** `kv` rows that describe one store file rather than its data. */
const LOCAL_KV_SQLITE = `key NOT IN ('${FTS_WATERMARK_KEY}', '${USAGE_FOLD_KEY}') AND key NOT LIKE 'health.%'`;
const LOCAL_KV_PG = `${LOCAL_KV_SQLITE} AND key NOT LIKE 'migrate.%'`;
const PROGRESS_PREFIX = "migrate.sqlite:";
const SOURCE_KEY = "migrate.sqlite.source";
/** A batch is cut at this many bytes of text, whatever its row count. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface CopyOptions {
  /** Rows per batch (one transaction each), default 2000. */
  batchSize?: number;
  /** Told after every committed batch. */
  onProgress?: (p: { table: string; copied: number; total: number }) => void;
}

export interface TableReport {
  table: string;
  sqliteRows: number;
  postgresRows: number;
  sqliteChecksum: string;
  postgresChecksum: string;
  ok: boolean;
}

export interface CopyReport {
  tables: TableReport[];
  /** Rows written by this run (a rerun after a complete copy writes none). */
  copied: number;
  ok: boolean;
}

interface Column {
  name: string;
  /** The PostgreSQL array type its values are sent as. */
  arrayType: string;
}

interface TablePlan {
  name: string;
  /** SQLite expressions ordering the copy; the cursor holds their last values. */
  order: string[];
  columns: Column[];
  /** `sessions.seq` takes SQLite's rowid, so "most recent first" keeps its order. */
  rowidInto?: string;
  sqliteWhere?: string;
  postgresWhere?: string;
}

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

function arrayTypeOf(dataType: string): string {
  switch (dataType) {
    case "bigint":
      return "bigint[]";
    case "integer":
    case "smallint":
      return "integer[]";
    case "double precision":
    case "real":
    case "numeric":
      return "double precision[]";
    case "boolean":
      return "boolean[]";
    default:
      return "text[]";
  }
}

function hasRowid(db: BetterSqlite3.Database, table: string): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${quote(table)} LIMIT 0`).all();
    return true;
  } catch {
    return false;
  }
}

/** Every table both stores have, with the columns both have, in an order that can resume. */
async function plan(db: BetterSqlite3.Database, pool: Pool): Promise<TablePlan[]> {
  const sqliteTables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid").all() as Array<{
      name: string;
    }>
  )
    .map((t) => t.name)
    .filter((n) => !SKIP_TABLE.test(n));
  const pgColumns = await pool.query<{ table: string; column: string; type: string; identity: string }>(
    `SELECT table_name AS table, column_name AS column, data_type AS type, is_identity AS identity
     FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const byTable = new Map<string, Array<{ column: string; type: string }>>();
  for (const r of pgColumns.rows) {
    if (!byTable.has(r.table)) byTable.set(r.table, []);
    byTable.get(r.table)!.push(r);
  }
  const plans: TablePlan[] = [];
  for (const name of sqliteTables) {
    const target = byTable.get(name);
    if (!target || name === "schema_version") continue;
    const info = db.prepare(`PRAGMA table_info(${quote(name)})`).all() as Array<{ name: string; pk: number }>;
    const have = new Set(info.map((c) => c.name));
    const columns = target
      .filter((c) => have.has(c.column))
      .map((c) => ({ name: c.column, arrayType: arrayTypeOf(c.type) }));
    const pk = info
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    const order = hasRowid(db, name) ? ["rowid"] : pk;
    if (order.length === 0) throw new Error(`cannot copy ${name}: it has neither a rowid nor a primary key`);
    plans.push({
      name,
      order,
      columns,
      ...(name === "sessions" && target.some((c) => c.column === "seq") ? { rowidInto: "seq" } : {}),
      ...(name === "kv" ? { sqliteWhere: LOCAL_KV_SQLITE, postgresWhere: LOCAL_KV_PG } : {}),
    });
  }
  return plans;
}

/** A row's values as one canonical string: the same on both sides when the data is the same. */
function canonical(values: unknown[]): string {
  return JSON.stringify(
    values.map((v) => {
      if (v === null || v === undefined) return null;
      if (typeof v === "string") return stripNul(v);
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "number") return String(v);
      if (typeof v === "boolean") return v ? "1" : "0";
      return String(v);
    }),
  );
}

/** An order-independent digest of rows: the sum, mod 2^64, of each row's first 8 SHA-256 bytes. */
class RowDigest {
  #sum = 0n;
  count = 0;
  add(values: unknown[]): void {
    const h = createHash("sha256").update(canonical(values)).digest();
    this.#sum = (this.#sum + h.readBigUInt64BE(0)) & 0xffff_ffff_ffff_ffffn;
    this.count++;
  }
  get hex(): string {
    return this.#sum.toString(16).padStart(16, "0");
  }
}

async function readProgress(
  pool: Pool,
  table: string,
): Promise<{ cursor: unknown[]; copied: number } | undefined> {
  const r = await pool.query<{ value: string }>("SELECT value FROM kv WHERE key = $1", [
    PROGRESS_PREFIX + table,
  ]);
  return r.rows[0] ? (JSON.parse(r.rows[0].value) as { cursor: unknown[]; copied: number }) : undefined;
}

async function writeBatch(
  client: PoolClient,
  t: TablePlan,
  rows: Array<Record<string, unknown>>,
): Promise<void> {
  const cols = [...t.columns];
  if (t.rowidInto) cols.push({ name: t.rowidInto, arrayType: "bigint[]" });
  const arrays = cols.map((c) =>
    rows.map((r) => {
      const v = c.name === t.rowidInto ? r.__rowid : r[c.name];
      if (typeof v === "string") return stripNul(v);
      if (typeof v === "bigint") return v.toString();
      return v ?? null;
    }),
  );
  await client.query(
    `INSERT INTO ${quote(t.name)} (${cols.map((c) => quote(c.name)).join(", ")})
     SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${c.arrayType}`).join(", ")})
     ON CONFLICT DO NOTHING`,
    arrays,
  );
}

/** Identity columns continue after the ids copied in, so new rows never collide with them. */
async function advanceIdentities(pool: Pool, table: string): Promise<void> {
  const ids = await pool.query<{ column: string }>(
    `SELECT column_name AS column FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'`,
    [table],
  );
  for (const { column } of ids.rows) {
    await pool.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT MAX(${quote(column)}) FROM ${quote(table)}), 1))`,
      [quote(table), column],
    );
  }
}

async function copyTable(
  db: BetterSqlite3.Database,
  pool: Pool,
  t: TablePlan,
  options: CopyOptions,
): Promise<number> {
  const batchSize = Math.max(1, options.batchSize ?? 2000);
  const select = [
    ...t.order.map((o, i) => `${o === "rowid" ? "rowid" : quote(o)} AS __k${i}`),
    ...(t.rowidInto ? ["rowid AS __rowid"] : []),
    ...t.columns.map((c) => quote(c.name)),
  ].join(", ");
  const orderBy = t.order.map((o) => (o === "rowid" ? "rowid" : quote(o))).join(", ");
  const keyTuple = t.order.length === 1 ? orderBy : `(${orderBy})`;
  const placeholders = t.order.length === 1 ? "?" : `(${t.order.map(() => "?").join(", ")})`;
  const where = t.sqliteWhere ? `(${t.sqliteWhere})` : "1";
  const first = db.prepare(
    `SELECT ${select} FROM ${quote(t.name)} WHERE ${where} ORDER BY ${orderBy} LIMIT ?`,
  );
  const next = db.prepare(
    `SELECT ${select} FROM ${quote(t.name)} WHERE ${where} AND ${keyTuple} > ${placeholders} ORDER BY ${orderBy} LIMIT ?`,
  );
  const total = (
    db.prepare(`SELECT COUNT(*) AS n FROM ${quote(t.name)} WHERE ${where}`).get() as { n: number }
  ).n;
  const progress = await readProgress(pool, t.name);
  let cursor = progress?.cursor;
  let copied = progress?.copied ?? 0;
  let written = 0;
  for (;;) {
    const rows = (cursor ? next.all(...cursor, batchSize) : first.all(batchSize)) as Array<
      Record<string, unknown>
    >;
    if (rows.length === 0) break;
    // Cut an oversized batch (long transcripts) so one statement stays a few MB.
    let bytes = 0;
    let take = 0;
    while (take < rows.length && (take === 0 || bytes < MAX_BATCH_BYTES)) {
      for (const v of Object.values(rows[take]!)) if (typeof v === "string") bytes += v.length;
      take++;
    }
    const batch = rows.slice(0, take);
    const last = batch.at(-1)!;
    const nextCursor = t.order.map((_, i) => last[`__k${i}`]);
    await transaction(pool, async (client) => {
      await writeBatch(client, t, batch);
      // The cursor moves in the same transaction as the rows: a crash leaves both or neither.
      await client.query(
        "INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [PROGRESS_PREFIX + t.name, JSON.stringify({ cursor: nextCursor, copied: copied + batch.length })],
      );
    });
    cursor = nextCursor;
    copied += batch.length;
    written += batch.length;
    options.onProgress?.({ table: t.name, copied, total });
  }
  await advanceIdentities(pool, t.name);
  return written;
}

async function digestSqlite(db: BetterSqlite3.Database, t: TablePlan): Promise<RowDigest> {
  const d = new RowDigest();
  const stmt = db
    .prepare(
      `SELECT ${t.columns.map((c) => quote(c.name)).join(", ")} FROM ${quote(t.name)}${t.sqliteWhere ? ` WHERE ${t.sqliteWhere}` : ""}`,
    )
    .raw();
  for (const row of stmt.iterate() as Iterable<unknown[]>) d.add(row);
  return d;
}

async function digestPostgres(pool: Pool, t: TablePlan): Promise<RowDigest> {
  const d = new RowDigest();
  await transaction(pool, async (client) => {
    await client.query(
      `DECLARE sb_digest NO SCROLL CURSOR FOR SELECT ${t.columns.map((c) => quote(c.name)).join(", ")}
       FROM ${quote(t.name)}${t.postgresWhere ? ` WHERE ${t.postgresWhere}` : ""}`,
    );
    for (;;) {
      const r = await client.query({ text: "FETCH 5000 FROM sb_digest", rowMode: "array" });
      for (const row of r.rows as unknown[][]) d.add(row);
      if (r.rows.length < 5000) break;
    }
    await client.query("CLOSE sb_digest");
  });
  return d;
}

/**
 * Copy a SQLite store (`state.db`, at the current schema, no gateway writing to it) into the PostgreSQL store
 * at `url`, table by table in batches. Each batch commits with its cursor, so a rerun after a crash continues
 * where the last one stopped and writes nothing twice. Ends by comparing each table's row count and
 * checksum on both sides.
 */
export async function copySqliteToPostgres(
  file: string,
  url: string,
  options: CopyOptions = {},
): Promise<CopyReport> {
  // Opened once as a gateway opens it: an older file is brought to the current schema, and usage rows a
  // gateway stopped before folding go into `usage_totals`, which is copied as it stands.
  if (existsSync(file)) await openSessionStore(file).close();
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  const pool = createPool(url, { max: 2 });
  try {
    await migratePostgres(pool);
    const source = await pool.query<{ value: string }>("SELECT value FROM kv WHERE key = $1", [SOURCE_KEY]);
    if (source.rows[0] && source.rows[0].value !== file) {
      throw new Error(
        `this database is already the target of a copy from ${source.rows[0].value}: finish that one (rerun it with that file), or copy ${file} into an empty database`,
      );
    }
    if (!source.rows[0]) {
      const used = await pool.query<{ n: number }>(
        "SELECT (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM messages) AS n",
      );
      if (used.rows[0]!.n > 0) {
        throw new Error(
          "the PostgreSQL database already holds sessions: copy into an empty database (createdb a new one and point --url at it)",
        );
      }
      await pool.query("INSERT INTO kv (key, value) VALUES ($1, $2)", [SOURCE_KEY, file]);
    }
    const tables = await plan(db, pool);
    let copied = 0;
    for (const t of tables) copied += await copyTable(db, pool, t, options);
    const reports: TableReport[] = [];
    for (const t of tables) {
      const [a, b] = await Promise.all([digestSqlite(db, t), digestPostgres(pool, t)]);
      reports.push({
        table: t.name,
        sqliteRows: a.count,
        postgresRows: b.count,
        sqliteChecksum: a.hex,
        postgresChecksum: b.hex,
        ok: a.count === b.count && a.hex === b.hex,
      });
    }
    return { tables: reports, copied, ok: reports.every((r) => r.ok) };
  } finally {
    db.close();
    await pool.end();
  }
}
