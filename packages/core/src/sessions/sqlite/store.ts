import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { MAIN_AGENT } from "../../config/schema.ts";
import { DEFAULT_ACCOUNT } from "../../platform.ts";
import { FTS_WATERMARK_KEY, migrate } from "../migrations.ts";
import { agentFromKey, newSessionId, resetReason } from "../reset.ts";
import type { SessionSource } from "../source.ts";
import {
  type AppendOptions,
  DuplicateInboundError,
  type EnsureOptions,
  type EnsureResult,
  type GetOrCreateOptions,
  type GetOrCreateResult,
  type MessageRole,
  type NewMessage,
  newSessionRecord,
  type SearchHit,
  type SessionRecord,
  type SessionStore,
  type StoredMessage,
} from "../store-types.ts";
import { type CheckpointerOptions, WalCheckpointer } from "./checkpointer.ts";
import { HistoryCache } from "./history-cache.ts";
import { idempotencyTable } from "./idempotency.ts";
import { importSessionsInto } from "./import.ts";
import { claimInto, inboundDedupe } from "./inbound.ts";
import { leaseTable } from "./leases.ts";
import { createAuditLog, createRateBuckets, createUsageLedger } from "./operations.ts";
import { outboxTable } from "./outbox.ts";
import { chatAgentTable, pairingTable } from "./pairing.ts";
import { responseTable } from "./responses.ts";
import { runTable } from "./runs.ts";
import { WriteBatcher } from "./write-batch.ts";

export interface SessionStoreOptions {
  /** The clock, epoch ms (tests inject one to drive reset policies). */
  now?: () => number;
  /** How long a writer waits for another connection's lock, ms. */
  busyTimeoutMs?: number;
  /** `false`: checkpoint the WAL inside commits, as SQLite does by default, instead of in a worker thread once busy. */
  backgroundCheckpoints?: boolean;
  /** The worker's thresholds (tests start it early). */
  checkpoints?: CheckpointerOptions;
}

const DEFAULT_HISTORY_LIMIT = 50;
const DEFAULT_SEARCH_LIMIT = 20;
const DEFAULT_LIST_LIMIT = 50;
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const WRITE_PROBE_TIMEOUT_MS = 250;
/** Bigger than a page, so the probe needs a fresh one, as a real append would. */
const PROBE_PAYLOAD = "x".repeat(8192);
const PROBE_ROLLBACK = new Error("write probe rolled back");
/**
 * Messages a connection appends before it brings the full-text index up to date inside the append's
 * transaction. Search always indexes whatever is pending first, so results never miss a message.
 */
const FTS_BATCH = 256;

const SESSION_COLUMNS = `id, session_key AS sessionKey, agent_id AS agentId, platform, account, chat_id AS chatId,
  chat_type AS chatType, thread_id AS threadId, user_id AS userId, model, started_at AS startedAt,
  updated_at AS updatedAt, ended_at AS endedAt, end_reason AS endReason, message_count AS messageCount,
  input_tokens AS inputTokens, output_tokens AS outputTokens, title`;

/**
 * Turn user text into an FTS5 query that cannot be a syntax error: every whitespace-separated word becomes
 * a quoted string (all must appear); a trailing `*` is kept as a prefix search. Empty when nothing is left.
 */
export function ftsQuery(text: string): string {
  const terms: string[] = [];
  for (const word of text.split(/\s+/)) {
    const prefix = word.length > 1 && word.endsWith("*");
    const body = (prefix ? word.slice(0, -1) : word).replace(/\*+$/, "");
    // Words with no letters or digits tokenize to nothing; an empty phrase would match nothing at all.
    if (!/[\p{L}\p{N}]/u.test(body)) continue;
    terms.push(`"${body.replaceAll('"', '""')}"${prefix ? "*" : ""}`);
  }
  return terms.join(" ");
}

function parseToolCalls(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A history row as an array (the statement is `raw`: no per-row object with named keys), in `history`'s column order. */
type RawMessageRow = [number, string, MessageRole, string | null, string | null, string | null, number];

function rawToMessage(r: RawMessageRow): StoredMessage {
  return {
    id: r[0],
    sessionId: r[1],
    role: r[2],
    content: r[3] ?? "",
    toolCalls: parseToolCalls(r[4]),
    toolCallId: r[5],
    createdAt: r[6],
  };
}

/** A token count as stored: a non-negative integer (anything else counts 0). */
const tokenCount = (n: number) => Math.max(0, Math.trunc(n) || 0);

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * Switch to WAL. SQLite answers SQLITE_BUSY here without consulting the busy handler while another
 * connection is opening or writing the same file, so the switch is retried until the busy timeout.
 */
function enableWal(db: BetterSqlite3.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw err;
      Atomics.wait(SLEEP_CELL, 0, 0, delay);
    }
  }
}

/**
 * Transcripts are private: the folder is created 0700 and the database file 0600 before SQLite opens it.
 * SQLite gives its `-wal` and `-shm` files the database file's mode, so they are 0600 too; an existing
 * database (and its WAL/SHM) that others could read is tightened.
 */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (err) {
      // Not there yet, or not ours to change (a shared read-only copy): SQLite reports what matters.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && (err as NodeJS.ErrnoException).code !== "EPERM")
        throw err;
    }
  }
}

/** Why the store at `file` cannot be opened, and what the operator can do about it. */
function storeOpenError(file: string, err: unknown): Error {
  const code = String((err as { code?: unknown }).code ?? "");
  const reason = (err as Error)?.message ?? String(err);
  let advice: string;
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) {
    advice = `the file is damaged or is not a Switchboard database. Stop every gateway using this home, move it aside (mv ${file} ${file}.broken, with its -wal and -shm files) and start again to begin with an empty store, or restore it from a backup`;
  } else if (
    code === "SQLITE_CANTOPEN" ||
    code === "SQLITE_READONLY" ||
    code === "SQLITE_PERM" ||
    code === "SQLITE_AUTH" ||
    code === "EACCES" ||
    code === "EPERM" ||
    code === "EROFS"
  ) {
    advice = `the gateway cannot read and write it: check that the file and its folder exist, belong to the user running the gateway, and are writable (chmod 600 ${file})`;
  } else if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    advice =
      "another process holds it locked: stop the other gateway or tool using this home and start again";
  } else if (code === "SQLITE_FULL" || code === "ENOSPC") {
    advice = "the disk is full: free some space and start again";
  } else {
    advice = "check the file, or move it aside to start with an empty store";
  }
  return new Error(`cannot open the session store ${file}: ${reason} (${code || "error"}); ${advice}.`, {
    cause: err,
  });
}

/** Open (creating or upgrading) the session database at `file`: WAL, busy timeout, migrations to the current schema. */
/** The SQLite store: the `SessionStore` interface plus its file and connection, for SQLite-only tools and tests. */
export interface SqliteSessionStore extends SessionStore {
  readonly file: string;
  readonly db: BetterSqlite3.Database;
}

/** The better-sqlite3 connection of a store opened by `openSessionStore`; throws for any other backend. */
export function sqliteDatabase(store: SessionStore): BetterSqlite3.Database {
  const db = (store as Partial<SqliteSessionStore>).db;
  if (!db) throw new Error(`the session store at ${store.location} is not a SQLite store`);
  return db;
}

export function openSessionStore(file: string, options: SessionStoreOptions = {}): SqliteSessionStore {
  const clock = options.now ?? Date.now;
  let db: BetterSqlite3.Database;
  try {
    if (file !== ":memory:") createPrivately(file);
    db = new BetterSqlite3(file);
  } catch (err) {
    throw storeOpenError(file, err);
  }
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    enableWal(db, busyTimeoutMs);
    // WAL + NORMAL is durable across application crashes; only an OS crash can lose the last commits.
    db.pragma("synchronous = NORMAL");
    // A group commit runs each write in a savepoint; past 64 KiB SQLite spills the savepoint journal to a
    // temporary file, a write syscall per page. Kept in memory (bounded by the batch), it costs none.
    db.pragma("temp_store = MEMORY");
    migrate(db);
  } catch (err) {
    db.close();
    throw storeOpenError(file, err);
  }

  const claimInbound = claimInto(db);
  const histories = new HistoryCache(db);
  const stmt = {
    get: db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ?`),
    // No ORDER BY: a key has one active session but after a race, and any ORDER BY here costs ~10 µs
    // (a sorted one, a temporary b-tree: 60 µs with the gateway's malloc settings), on every message.
    activeOf: db
      .prepare("SELECT rowid, started_at, id FROM sessions WHERE session_key = ? AND ended_at IS NULL")
      .raw(true),
    insert:
      db.prepare(`INSERT INTO sessions (id, session_key, agent_id, platform, account, chat_id, chat_type, thread_id,
      user_id, model, started_at, updated_at) VALUES (@id, @sessionKey, @agentId, @platform, @account, @chatId, @chatType,
      @threadId, @userId, @model, @now, @now)`),
    touch: db.prepare("UPDATE sessions SET updated_at = MAX(updated_at, ?) WHERE id = ?"),
    end: db.prepare("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL"),
    setModel: db.prepare("UPDATE sessions SET model = ? WHERE id = ?"),
    reopen: db.prepare("UPDATE sessions SET ended_at = NULL, end_reason = NULL, updated_at = ? WHERE id = ?"),
    endKey: db.prepare(
      "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE session_key = ? AND ended_at IS NULL AND id != ?",
    ),
    appendCount: db.prepare(
      "UPDATE sessions SET message_count = message_count + ?, updated_at = MAX(updated_at, ?) WHERE id = ?",
    ),
    appendCountUsage: db.prepare(
      `UPDATE sessions SET message_count = message_count + ?, updated_at = MAX(updated_at, ?),
      input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?`,
    ),
    insertMessage: db.prepare(
      "INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    usage: db.prepare(
      "UPDATE sessions SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?",
    ),
    title: db.prepare("UPDATE sessions SET title = ? WHERE id = ?"),
    rewind: db.prepare("DELETE FROM messages WHERE session_id = ? AND id > ?"),
    rewindCount: db.prepare("UPDATE sessions SET message_count = MAX(0, message_count - ?) WHERE id = ?"),
    // Raw rows (arrays, see `rawToMessage`): a turn reads this on every message, and arrays decode ~20% faster.
    history: db
      .prepare(`SELECT id, session_id AS sessionId, role, content, tool_calls AS toolCalls,
      tool_call_id AS toolCallId, created_at AS createdAt FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?`)
      .raw(true),
    search: db.prepare(`SELECT m.session_id AS sessionId, s.agent_id AS agentId, m.id AS messageId, m.role,
      snippet(messages_fts, 0, '>>>', '<<<', '…', 16) AS snippet, m.created_at AS createdAt
      FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id
      WHERE messages_fts MATCH @query AND (@agentId IS NULL OR s.agent_id = @agentId)
      ORDER BY m.created_at DESC, m.id DESC LIMIT @limit`),
    ftsWatermark: db
      .prepare(
        `SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = '${FTS_WATERMARK_KEY}'), 0)`,
      )
      .pluck(),
    maxMessageId: db.prepare("SELECT COALESCE(MAX(id), 0) FROM messages").pluck(),
    ftsIndex: db.prepare(
      "INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages WHERE id > ? AND id <= ? ORDER BY id",
    ),
    ftsSetWatermark: db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)"),
    setParent: db.prepare("UPDATE sessions SET parent_session_id = ? WHERE id = ?"),
    parentOf: db.prepare("SELECT parent_session_id FROM sessions WHERE id = ?").pluck(),
    children: db.prepare(
      `SELECT ${SESSION_COLUMNS} FROM sessions WHERE parent_session_id = ? ORDER BY started_at, rowid`,
    ),
    list: db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions
      WHERE (@agentId IS NULL OR agent_id = @agentId) AND (@includeEnded = 1 OR ended_at IS NULL)
      ORDER BY updated_at DESC, rowid DESC LIMIT @limit`),
  };

  const addUsage = (sessionId: string, usage: { inputTokens: number; outputTokens: number }) => {
    stmt.usage.run(tokenCount(usage.inputTokens), tokenCount(usage.outputTokens), sessionId);
  };
  /** Index the messages past the watermark; call inside a write transaction. */
  const indexPending = () => {
    const from = stmt.ftsWatermark.get() as number;
    const to = stmt.maxMessageId.get() as number;
    if (to > from) {
      stmt.ftsIndex.run(from, to);
      stmt.ftsSetWatermark.run(FTS_WATERMARK_KEY, to);
    }
  };
  const syncSearchIndex = db.transaction(indexPending);
  const searchIndexBehind = () => (stmt.maxMessageId.get() as number) > (stmt.ftsWatermark.get() as number);
  let unindexed = 0;

  const probe = db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES ('health.write_probe', ?)");
  const probeWrite = db.transaction(() => {
    probe.run(PROBE_PAYLOAD);
    // Throwing rolls the transaction back: the probe never keeps what it wrote.
    throw PROBE_ROLLBACK;
  });

  const get = (id: string) => stmt.get.get(id) as SessionRecord | undefined;
  /** The key's active session: the latest started (then inserted) if a race left more than one. */
  const findActive = (key: string): SessionRecord | undefined => {
    const rows = stmt.activeOf.all(key) as Array<[number, number, string]>;
    if (rows.length === 0) return undefined;
    let best = rows[0]!;
    for (let i = 1; i < rows.length; i++) {
      const r = rows[i]!;
      if (r[1] > best[1] || (r[1] === best[1] && r[0] > best[0])) best = r;
    }
    return get(best[2]);
  };

  /** The insert's parameters for a new session row. */
  const sessionRow = (
    sessionKey: string,
    source: SessionSource,
    now: number,
    model: string | undefined,
    id: string,
  ) => ({
    id,
    sessionKey,
    agentId: source.agentId || agentFromKey(sessionKey) || MAIN_AGENT,
    platform: source.platform || null,
    account: source.account || DEFAULT_ACCOUNT,
    chatId: source.chatId ?? null,
    chatType: source.chatType ?? null,
    threadId: source.threadId ?? null,
    userId: source.userId ?? null,
    model: model ?? null,
    now,
  });
  /** Insert a session row; the record is the row as inserted (no read back: every other column has its default). */
  const create = (
    sessionKey: string,
    source: SessionSource,
    now: number,
    model?: string,
    id = newSessionId(now),
  ): SessionRecord => {
    const row = sessionRow(sessionKey, source, now, model, id);
    stmt.insert.run(row);
    const { now: _, ...fields } = row;
    return newSessionRecord(fields, now);
  };
  const getOrCreate = (
    sessionKey: string,
    source: SessionSource,
    opts: GetOrCreateOptions = {},
  ): GetOrCreateResult => {
    const now = opts.now ?? clock();
    const active = findActive(sessionKey);
    let result: Omit<GetOrCreateResult, "messageIds">;
    if (active) {
      const reason = opts.forceNew ? "reset" : resetReason(opts.reset, active.updatedAt, now);
      if (!reason) {
        stmt.touch.run(now, active.id);
        result = { session: get(active.id)!, created: false };
      } else {
        stmt.end.run(now, reason, active.id);
        const session = create(sessionKey, source, now, opts.model);
        result = { session, created: true, previous: get(active.id)!, reason };
      }
    } else {
      result = { session: create(sessionKey, source, now, opts.model), created: true, reason: "new" };
    }
    const messageIds = opts.append?.length ? append(result.session.id, opts.append) : [];
    // In this write's savepoint: a message seen before rolls back everything above, and nothing is stored twice.
    if (opts.claim && !claimInbound(opts.claim, result.session.id, messageIds[0] ?? null, now))
      throw new DuplicateInboundError(opts.claim);
    if (messageIds.length === 0) return { ...result, messageIds };
    return { ...result, session: get(result.session.id)!, messageIds };
  };

  const append = (sessionId: string, messages: NewMessage[], opts: AppendOptions = {}) => {
    const ids: number[] = [];
    if (opts.create) {
      const c = opts.create;
      ensure(sessionId, c.sessionKey, c.source, {
        ...(c.model !== undefined ? { model: c.model } : {}),
        ...(c.parentSessionId !== undefined ? { parentSessionId: c.parentSessionId } : {}),
        ...(c.now !== undefined ? { now: c.now } : {}),
      });
    }
    if (opts.rewindAfter !== undefined) rewind(sessionId, opts.rewindAfter);
    if (messages.length === 0) {
      if (opts.usage) addUsage(sessionId, opts.usage);
      return ids;
    }
    const fallback = clock();
    let last = 0;
    // As a read would return them, for the session's kept history once the commit is durable.
    const stored: StoredMessage[] = [];
    for (const m of messages) {
      const at = m.createdAt ?? fallback;
      if (at > last) last = at;
      const toolCalls = m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls);
      const info = stmt.insertMessage.run(sessionId, m.role, m.content, toolCalls, m.toolCallId ?? null, at);
      const id = Number(info.lastInsertRowid);
      ids.push(id);
      stored.push({
        id,
        sessionId,
        role: m.role,
        content: m.content,
        toolCalls: parseToolCalls(toolCalls),
        toolCallId: m.toolCallId ?? null,
        createdAt: at,
      });
    }
    // Last, so the one check also covers the messages: an unknown session rolls the whole batch back. The
    // turn's usage goes into the same row update.
    const counted = opts.usage
      ? stmt.appendCountUsage.run(
          messages.length,
          last,
          tokenCount(opts.usage.inputTokens),
          tokenCount(opts.usage.outputTokens),
          sessionId,
        )
      : stmt.appendCount.run(messages.length, last, sessionId);
    if (counted.changes === 0) {
      throw new Error(`append: no session ${sessionId}`);
    }
    if ((unindexed += messages.length) >= FTS_BATCH) {
      indexPending();
      unindexed = 0;
    }
    writes.afterCommit(() => histories.appended(sessionId, stored));
    return ids;
  };

  const rewind = (sessionId: string, afterMessageId: number) => {
    // Before the delete: committed or rolled back, the session's next read starts over.
    histories.forget(sessionId);
    const removed = stmt.rewind.run(sessionId, afterMessageId).changes;
    if (removed > 0) stmt.rewindCount.run(removed, sessionId);
    return removed;
  };

  const ensure = (
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
    opts: EnsureOptions = {},
  ): EnsureResult => {
    let session = get(sessionId);
    const agentId = source.agentId || agentFromKey(sessionKey) || MAIN_AGENT;
    if (session) {
      // Fail closed: a caller-chosen id must never continue another agent's conversation.
      if (session.agentId !== agentId) {
        throw new Error(`session ${sessionId} belongs to agent "${session.agentId}", not "${agentId}"`);
      }
    } else {
      session = create(sessionKey, source, opts.now ?? clock(), opts.model, sessionId);
    }
    if (opts.parentSessionId !== undefined) stmt.setParent.run(opts.parentSessionId, sessionId);
    if (!opts.append?.length) return { session, messageIds: [] };
    const messageIds = append(sessionId, opts.append);
    return { session: get(sessionId)!, messageIds };
  };

  /** `ensure`'s answer for a session that exists and is the agent's, else `undefined` (let `ensure` decide). */
  const existing = (
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
  ): EnsureResult | undefined => {
    const session = get(sessionId);
    const agentId = source.agentId || agentFromKey(sessionKey) || MAIN_AGENT;
    return session && session.agentId === agentId ? { session, messageIds: [] } : undefined;
  };

  // A file store checkpoints its WAL in a worker thread once it is busy (see checkpointer.ts).
  const checkpointer =
    file !== ":memory:" && options.backgroundCheckpoints !== false
      ? new WalCheckpointer(db, file, options.checkpoints)
      : undefined;
  const writes = new WriteBatcher(db, checkpointer && (() => checkpointer.committed()));
  const read = <T>(fn: () => T) => writes.read(fn);
  const usage = createUsageLedger(db, writes, clock);
  try {
    // Rows a process stopped before folding (killed, say) go into the totals now; reads count them anyway.
    usage.fold();
  } catch {}
  const checkWritable = (
    timeoutMs = WRITE_PROBE_TIMEOUT_MS,
  ): { ok: true } | { ok: false; reason: string } => {
    if (!db.open) return { ok: false, reason: "the session store is closed" };
    const busy = db.pragma("busy_timeout", { simple: true }) as number;
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(timeoutMs))}`);
      // A real write, page allocation included, rolled back: a full disk, a read-only file or a held
      // lock fail here just as a message append would.
      probeWrite.immediate();
      return { ok: true };
    } catch (err) {
      if (err === PROBE_ROLLBACK) return { ok: true };
      return {
        ok: false,
        reason: `${(err as Error).message} (${(err as { code?: string }).code ?? "error"})`,
      };
    } finally {
      db.pragma(`busy_timeout = ${busy}`);
    }
  };

  return {
    file,
    location: file,
    db,
    responses: responseTable(db, writes, clock),
    runs: runTable(db, writes, clock),
    idempotency: idempotencyTable(db, writes, clock),
    outbox: outboxTable(db, writes, clock),
    getOrCreate: (key, source, opts) => writes.run(() => getOrCreate(key, source, opts)),
    findActive: (key) => read(() => findActive(key)),
    // With a write queued (it could create, end or change that session) the read joins the batch after it, as
    // `ensure` does: a read outside the batch is a transaction of its own, dearer than a step inside one.
    get: (id) => (writes.pending ? writes.run(() => get(id)) : read(() => get(id))),
    // An existing session of the agent with nothing to add is only read, outside any transaction, unless a
    // write is queued (it could end, remove or create that session first): a continued API turn commits once.
    ensure: (id, key, source, opts) =>
      !opts?.append?.length && opts?.parentSessionId === undefined && !writes.pending
        ? read(() => existing(id, key, source)).then(
            (found) => found ?? writes.run(() => ensure(id, key, source, opts)),
          )
        : writes.run(() => ensure(id, key, source, opts)),
    end: (sessionId, reason, now) =>
      writes.run(() => {
        stmt.end.run(now ?? clock(), reason, sessionId);
      }),
    setModel: (sessionId, model) =>
      writes.run(() => {
        if (stmt.setModel.run(model, sessionId).changes === 0) throw new Error(`no session "${sessionId}"`);
      }),
    resume: (sessionId, now) =>
      writes.run(() => {
        const target = get(sessionId);
        if (!target) throw new Error(`no session "${sessionId}"`);
        const at = now ?? clock();
        stmt.endKey.run(at, "resumed", target.sessionKey, sessionId);
        stmt.reopen.run(at, sessionId);
        return get(sessionId)!;
      }),
    append: (sessionId, messages, opts) => writes.run(() => append(sessionId, messages, opts)),
    addUsage: (sessionId, usage) => writes.run(() => addUsage(sessionId, usage)),
    rewind: (sessionId, afterMessageId) => writes.run(() => rewind(sessionId, afterMessageId)),
    setTitle: (sessionId, title) =>
      writes.run(() => {
        stmt.title.run(title, sessionId);
      }),
    setParent: (sessionId, parentSessionId) =>
      writes.run(() => {
        stmt.setParent.run(parentSessionId, sessionId);
      }),
    parentOf: (sessionId) =>
      read(() => (stmt.parentOf.get(sessionId) as string | null | undefined) ?? undefined),
    children: (sessionId) => read(() => stmt.children.all(sessionId) as SessionRecord[]),
    history: (sessionId, limit = DEFAULT_HISTORY_LIMIT) =>
      read(() =>
        histories.read(sessionId, Math.max(0, limit), () => {
          const rows = stmt.history.all(sessionId, Math.max(0, limit)) as RawMessageRow[];
          const out = new Array<StoredMessage>(rows.length);
          for (let i = 0; i < rows.length; i++) out[rows.length - 1 - i] = rawToMessage(rows[i]!);
          return out;
        }),
      ),
    search: (query, opts = {}) =>
      read(() => {
        const match = ftsQuery(query);
        if (!match) return [];
        if (searchIndexBehind()) syncSearchIndex.immediate();
        return stmt.search.all({
          query: match,
          agentId: opts.agentId ?? null,
          limit: opts.limit ?? DEFAULT_SEARCH_LIMIT,
        }) as SearchHit[];
      }),
    // A closed store answers "cannot write" rather than rejecting: /health reports it.
    checkWritable: async (timeoutMs) => checkWritable(timeoutMs),
    list: (opts = {}) =>
      read(
        () =>
          stmt.list.all({
            agentId: opts.agentId ?? null,
            includeEnded: opts.includeEnded ? 1 : 0,
            limit: opts.limit ?? DEFAULT_LIST_LIMIT,
          }) as SessionRecord[],
      ),
    // A whole import is one transaction of its own, not a part of a group commit.
    importSessions: (items) => {
      writes.flush();
      histories.clear();
      return read(() => importSessionsInto(db, items));
    },
    usage,
    audit: createAuditLog(db, writes, clock),
    rates: createRateBuckets(db, writes),
    leases: leaseTable(db, writes, clock),
    pairing: pairingTable(db, writes, clock),
    chatAgents: chatAgentTable(db, writes, clock),
    inbound: inboundDedupe(db, writes, clock),
    probe: async () => {
      const started = performance.now();
      const check = checkWritable();
      const latencyMs = performance.now() - started;
      return check.ok ? { writable: true, latencyMs } : { writable: false, latencyMs, error: check.reason };
    },
    close: async () => {
      if (!db.open) return;
      writes.close(`the session store ${file} is closed`);
      usage.close();
      await checkpointer?.close();
      if (!db.open) return;
      try {
        // Leave the file fully indexed for whoever opens it next; a busy writer elsewhere will do it instead.
        if (searchIndexBehind()) syncSearchIndex.immediate();
      } catch {}
      try {
        usage.fold();
      } catch {}
      db.close();
    },
  };
}
