import type { Database } from "better-sqlite3";

/**
 * Columns of `sessions` and `messages` after the current schema, in the form `ALTER TABLE ADD COLUMN`
 * accepts (no PRIMARY KEY/UNIQUE, NOT NULL only with a default), so one list both creates a fresh table
 * and reconciles an older one in place.
 */
const SESSION_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["session_key", "TEXT NOT NULL DEFAULT ''"],
  ["agent_id", "TEXT NOT NULL DEFAULT 'main'"],
  ["platform", "TEXT"],
  ["account", "TEXT"],
  ["chat_id", "TEXT"],
  ["chat_type", "TEXT"],
  ["thread_id", "TEXT"],
  ["user_id", "TEXT"],
  ["model", "TEXT"],
  ["started_at", "INTEGER NOT NULL DEFAULT 0"],
  ["updated_at", "INTEGER NOT NULL DEFAULT 0"],
  ["ended_at", "INTEGER"],
  ["end_reason", "TEXT"],
  ["message_count", "INTEGER NOT NULL DEFAULT 0"],
  ["input_tokens", "INTEGER NOT NULL DEFAULT 0"],
  ["output_tokens", "INTEGER NOT NULL DEFAULT 0"],
  ["title", "TEXT"],
];

const MESSAGE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["session_id", "TEXT NOT NULL DEFAULT ''"],
  ["role", "TEXT NOT NULL DEFAULT 'user'"],
  ["content", "TEXT NOT NULL DEFAULT ''"],
  ["tool_calls", "TEXT"],
  ["tool_call_id", "TEXT"],
  ["created_at", "INTEGER NOT NULL DEFAULT 0"],
];

/**
 * Columns of the upstream "April v6" schema that block our inserts (NOT NULL without a default) or whose
 * values move into a new column. They are copied, then dropped (with the indexes that name them).
 */
const LEGACY_SESSION_SOURCE = "source";
const LEGACY_MESSAGE_TIMESTAMP = "timestamp";

/** The `kv` key holding the highest message id the full-text index covers (see `store.ts`, deferred indexing). */
export const FTS_WATERMARK_KEY = "fts_indexed_id";

/** The `kv` key holding the highest `usage_events` id folded into `usage_totals` (see `sqlite/operations.ts`). */
export const USAGE_FOLD_KEY = "usage_folded_id";

/**
 * Full-text search over message content: an external-content FTS5 table over `messages`. Rows are
 * indexed in batches by the store (each FTS5 transaction writes a new segment, so indexing per append
 * would cost two thirds of the append), up to the watermark in `kv`. Updates and deletes of rows already
 * indexed keep the index exact through these triggers; rows past the watermark are indexed as they are.
 */
const FTS_SQL = `
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
  content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages
WHEN old.id <= COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = '${FTS_WATERMARK_KEY}'), 0) BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF content ON messages
WHEN old.id <= COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = '${FTS_WATERMARK_KEY}'), 0) BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;`;

function columnsOf(db: Database, table: string): Set<string> {
  return new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  );
}

function tableExists(db: Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Drop the explicit indexes of `table` that name any of `columns` (DROP COLUMN refuses indexed columns). */
function dropIndexesOn(db: Database, table: string, columns: ReadonlySet<string>): void {
  const indexes = db.prepare(`PRAGMA index_list(${table})`).all() as Array<{ name: string; origin: string }>;
  for (const idx of indexes) {
    if (idx.origin !== "c") continue; // pk/unique-constraint autoindexes cannot be dropped
    const cols = db.prepare(`PRAGMA index_info("${idx.name.replaceAll('"', '""')}")`).all() as Array<{
      name: string | null;
    }>;
    if (cols.some((c) => c.name !== null && columns.has(c.name)))
      db.exec(`DROP INDEX "${idx.name.replaceAll('"', '""')}"`);
  }
}

function addMissingColumns(
  db: Database,
  table: string,
  spec: ReadonlyArray<readonly [string, string]>,
): void {
  const have = columnsOf(db, table);
  for (const [name, decl] of spec)
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${decl}`);
}

/**
 * v1: the Switchboard schema. Creates it on an empty file, or upgrades the upstream schema in place:
 * columns are reconciled with ALTER TABLE ADD COLUMN, every row is kept and becomes `main`'s, `source`
 * becomes `platform`, REAL seconds become epoch milliseconds, and the full-text index is rebuilt.
 */
function migrateToV1(db: Database): void {
  const upgrading = tableExists(db, "sessions");
  if (!upgrading) {
    db.exec(
      `CREATE TABLE sessions (id TEXT PRIMARY KEY, ${SESSION_COLUMNS.map(([n, d]) => `${n} ${d}`).join(", ")})`,
    );
  }
  if (!tableExists(db, "messages")) {
    db.exec(
      `CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, ${MESSAGE_COLUMNS.map(([n, d]) => `${n} ${d}`).join(", ")})`,
    );
  }

  if (upgrading) {
    // The old FTS table and its triggers index a different shape; they are rebuilt below.
    const triggers = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'")
      .all() as Array<{
      name: string;
    }>;
    for (const t of triggers) db.exec(`DROP TRIGGER "${t.name.replaceAll('"', '""')}"`);
    db.exec("DROP TABLE IF EXISTS messages_fts");
    // A unique title index would make setTitle throw on the duplicates users create freely.
    dropIndexesOn(db, "sessions", new Set(["title"]));

    const legacySessions = columnsOf(db, "sessions");
    const legacyMessages = columnsOf(db, "messages");
    addMissingColumns(db, "sessions", SESSION_COLUMNS);
    addMissingColumns(db, "messages", MESSAGE_COLUMNS);

    if (legacyMessages.has(LEGACY_MESSAGE_TIMESTAMP)) {
      db.exec(
        `UPDATE messages SET created_at = CAST(ROUND(timestamp * 1000) AS INTEGER), content = COALESCE(content, '')`,
      );
      dropIndexesOn(db, "messages", new Set([LEGACY_MESSAGE_TIMESTAMP]));
      db.exec(`ALTER TABLE messages DROP COLUMN ${LEGACY_MESSAGE_TIMESTAMP}`);
    }
    if (legacySessions.has(LEGACY_SESSION_SOURCE)) {
      db.exec(`
        UPDATE sessions SET
          platform = COALESCE(platform, source),
          started_at = CAST(ROUND(started_at * 1000) AS INTEGER),
          ended_at = CASE WHEN ended_at IS NULL THEN NULL ELSE CAST(ROUND(ended_at * 1000) AS INTEGER) END`);
      dropIndexesOn(db, "sessions", new Set([LEGACY_SESSION_SOURCE]));
      db.exec(`ALTER TABLE sessions DROP COLUMN ${LEGACY_SESSION_SOURCE}`);
    }
    db.exec(`
      UPDATE sessions SET
        message_count = (SELECT COUNT(*) FROM messages m WHERE m.session_id = sessions.id),
        input_tokens = COALESCE(input_tokens, 0),
        output_tokens = COALESCE(output_tokens, 0),
        updated_at = MAX(COALESCE(updated_at, 0), started_at,
          COALESCE((SELECT MAX(created_at) FROM messages m WHERE m.session_id = sessions.id), 0))`);
  }

  db.exec(`
    CREATE INDEX IF NOT EXISTS idx_sessions_key ON sessions(session_key, ended_at);
    CREATE INDEX IF NOT EXISTS idx_sessions_agent ON sessions(agent_id, updated_at);
    CREATE INDEX IF NOT EXISTS idx_messages_session_id ON messages(session_id, id);
    CREATE TABLE IF NOT EXISTS cron_leases (job_key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
  `);
  db.exec(FTS_SQL);
  if (upgrading) {
    db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')");
    db.prepare(
      "INSERT OR REPLACE INTO kv (key, value) VALUES (?, (SELECT COALESCE(MAX(id), 0) FROM messages))",
    ).run(FTS_WATERMARK_KEY);
  }
}

/** v2: `sessions.parent_session_id`, the caller's session of a delegated turn. */
function migrateToV2(db: Database): void {
  addMissingColumns(db, "sessions", [["parent_session_id", "TEXT"]]);
  db.exec("CREATE INDEX IF NOT EXISTS idx_sessions_parent ON sessions(parent_session_id)");
}

/**
 * v3: stored Responses API responses move out of the API server's memory into `responses`, so they survive a
 * restart and are bounded by age and total bytes (`bytes` is the stored size, summed for the budget).
 * `input_items` is the request's input as Responses items (`GET /v1/responses/{id}/input_items`).
 */
function migrateToV3(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS responses (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      public_session_id TEXT NOT NULL,
      messages TEXT NOT NULL,
      body TEXT NOT NULL,
      input_items TEXT NOT NULL DEFAULT '[]',
      bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_responses_created ON responses(created_at);
  `);
}

/**
 * v4, operations: usage rows per model call, running totals per budget window (so a budget check is a
 * point lookup, not a scan), rate-limit token buckets, and the append-only audit log.
 */
function migrateToV4(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS usage_events (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, agent_id TEXT NOT NULL, user_id TEXT, key_id TEXT,
      session_id TEXT, platform TEXT, provider TEXT, model TEXT,
      input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
      cached_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS idx_usage_at ON usage_events(at);
    CREATE TABLE IF NOT EXISTS usage_totals (
      scope TEXT NOT NULL, window TEXT NOT NULL, tokens INTEGER NOT NULL DEFAULT 0,
      cost_usd REAL NOT NULL DEFAULT 0, PRIMARY KEY (scope, window)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS rate_buckets (
      bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS audit_log (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
      target TEXT, detail TEXT, once_key TEXT UNIQUE);
    CREATE INDEX IF NOT EXISTS idx_audit_at ON audit_log(at);
    CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `);
}

/**
 * v5, pairing: strangers' pending codes (one live code per user and platform account; `code` is unique) and
 * the users an operator approved, per platform account.
 */
function migrateToV5(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS pairing_requests (
      code TEXT PRIMARY KEY, platform TEXT NOT NULL, account TEXT NOT NULL, user_id TEXT NOT NULL,
      user_name TEXT, chat_id TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS idx_pairing_requests_user ON pairing_requests(platform, account, user_id);
    CREATE TABLE IF NOT EXISTS pairing_approvals (
      platform TEXT NOT NULL, account TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT,
      approved_by TEXT NOT NULL, approved_at INTEGER NOT NULL, code TEXT,
      PRIMARY KEY (platform, account, user_id)) WITHOUT ROWID;
  `);
}

/** v6: `/agent <id>` overrides, one per chat (`chat` as `chatScope` writes it). */
function migrateToV6(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS chat_agents (
      chat TEXT PRIMARY KEY, agent_id TEXT NOT NULL, set_by TEXT NOT NULL, set_at INTEGER NOT NULL) WITHOUT ROWID;
  `);
}

/**
 * v7: inbound messages already seen, one row per (platform, account, chat, message id): dedupe by a primary
 * key, so it holds across processes (and, on PostgreSQL, across replicas), pruned by age.
 */
function migrateToV7(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS inbound_seen (
      platform TEXT NOT NULL, account TEXT NOT NULL, chat_id TEXT NOT NULL, message_id TEXT NOT NULL,
      seen_at INTEGER NOT NULL, PRIMARY KEY (platform, account, chat_id, message_id)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS idx_inbound_seen_at ON inbound_seen(seen_at);
  `);
}

/**
 * v8: an inbound claim keeps the session it went to and the id of its stored message, and when it was answered:
 * the claims of a session not answered yet are its inbox, drained in claim order by whichever replica runs the
 * session's next turn.
 */
function migrateToV8(db: Database): void {
  addMissingColumns(db, "inbound_seen", [
    ["session_id", "TEXT"],
    ["stored_id", "INTEGER"],
    ["answered_at", "INTEGER"],
  ]);
  db.exec(`
    CREATE INDEX IF NOT EXISTS idx_inbound_seen_inbox ON inbound_seen(session_id, stored_id)
      WHERE session_id IS NOT NULL AND answered_at IS NULL;
  `);
}

/**
 * v9: asynchronous API runs and their events move out of the API server's memory into `runs` and `run_events`,
 * so any process on the store can read, follow and stop a run another one executes; `run_answers` carries an
 * approval given on one process to the one where the tool call waits.
 */
function migrateToV9(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS runs (
      id TEXT PRIMARY KEY, owner TEXT NOT NULL, agent_id TEXT NOT NULL, session_id TEXT NOT NULL,
      status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, completed_at INTEGER,
      output TEXT NOT NULL DEFAULT '', usage TEXT, error TEXT, pending_approvals TEXT NOT NULL DEFAULT '[]',
      replica_id TEXT NOT NULL, stop_requested INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS idx_runs_status ON runs(status, completed_at);
    CREATE TABLE IF NOT EXISTS run_events (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS run_answers (
      run_id TEXT NOT NULL, approval_id TEXT NOT NULL, approved INTEGER NOT NULL, answered_by TEXT NOT NULL,
      reason TEXT, at INTEGER NOT NULL, taken INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (run_id, approval_id)) WITHOUT ROWID;
  `);
}

/**
 * v10: `Idempotency-Key` claims and their answers (`idempotency_keys`), so a retry reaching another replica
 * replays the first answer; runs are counted per key across replicas (`idx_runs_owner_active`); `outbox`
 * carries a standby's sends to the holder of an account that sends only over its connection (Yuanbao).
 */
function migrateToV10(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, holder TEXT NOT NULL, expires_at INTEGER NOT NULL,
      status INTEGER, headers TEXT, body BLOB) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS idx_idempotency_keys_expires ON idempotency_keys(expires_at);
    CREATE INDEX IF NOT EXISTS idx_runs_owner_active ON runs(owner)
      WHERE status NOT IN ('completed', 'failed', 'cancelled');
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL, account TEXT NOT NULL, address TEXT NOT NULL,
      text TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL, taken_by TEXT, taken_at INTEGER);
    CREATE INDEX IF NOT EXISTS idx_outbox_account ON outbox(platform, account, id);
  `);
}

/**
 * v11: `usage_totals` are folded from `usage_events` in batches instead of in every call's commit. Each call
 * keeps the budget scopes it counts for (`scopes`, a JSON array); `kv` holds the last id folded. Every row
 * already stored was added to the totals when it was written, so the watermark starts at the last one.
 */
function migrateToV11(db: Database): void {
  const columns = db.prepare("PRAGMA table_info(usage_events)").all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === "scopes")) db.exec("ALTER TABLE usage_events ADD COLUMN scopes TEXT");
  db.exec(`
    INSERT OR IGNORE INTO kv (key, value) VALUES ('${USAGE_FOLD_KEY}', (SELECT COALESCE(MAX(id), 0) FROM usage_events));
  `);
}

/**
 * v12: `idx_sessions_parent` holds only delegated sessions (`WHERE parent_session_id IS NOT NULL`). Every
 * other session had an entry of NULL, so each commit that started a session also wrote that index's last page.
 */
function migrateToV12(db: Database): void {
  db.exec(`
    DROP INDEX IF EXISTS idx_sessions_parent;
    CREATE INDEX idx_sessions_parent ON sessions(parent_session_id) WHERE parent_session_id IS NOT NULL;
  `);
}

/** Forward-only migrations: `MIGRATIONS[i]` takes `user_version` i to i + 1. Append; never edit a shipped one. */
export const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  migrateToV1,
  migrateToV2,
  migrateToV3,
  migrateToV4,
  migrateToV5,
  migrateToV6,
  migrateToV7,
  migrateToV8,
  migrateToV9,
  migrateToV10,
  migrateToV11,
  migrateToV12,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Bring the file to `SCHEMA_VERSION`. Each step runs in its own IMMEDIATE transaction that re-reads the
 * version, so two processes opening one old file migrate it once.
 */
export function migrate(db: Database): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  if (version() > SCHEMA_VERSION) {
    throw new Error(
      `${db.name} has schema version ${version()}, newer than this Switchboard understands (${SCHEMA_VERSION}): upgrade Switchboard`,
    );
  }
  for (;;) {
    const done = db
      .transaction(() => {
        const v = version();
        if (v >= SCHEMA_VERSION) return true;
        MIGRATIONS[v]!(db);
        db.pragma(`user_version = ${v + 1}`);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
