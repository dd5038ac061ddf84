import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Database } from "better-sqlite3";
import { openSessionStore } from "./store.ts";
import type { NewMessage, SessionRecord, StoredMessage } from "./store-types.ts";

/** A session to write with `SessionStore.importSessions`: its row as it should be stored, and its messages. */
export interface ImportedSession {
  session: Omit<SessionRecord, "messageCount"> & { messageCount?: number };
  messages: NewMessage[];
}

export interface ImportResult {
  /** Sessions written. */
  sessions: number;
  messages: number;
  /** Ids already in the store, left untouched (a repeated import is a no-op). */
  skipped: string[];
}

/** A database another gateway wrote, read through our own migrations (see `readForeignStateDb`). */
export interface ForeignState {
  sessions: Array<{ record: SessionRecord; messages: StoredMessage[] }>;
  /** The upstream routing index (`gateway_routing`, mid-2026 schema): session key → entry JSON, when present. */
  routing: Array<{ sessionKey: string; entry: unknown }>;
}

const ALL = Number.MAX_SAFE_INTEGER;

/**
 * Read a `state.db` written by the upstream gateway (any schema our migrations upgrade: the April v6 one,
 * the mid-2026 one) without touching it: the file (and its WAL) is copied to a temporary directory, the
 * copy is upgraded in place by the same migrations that upgrade a live store, read, and deleted.
 */
export function readForeignStateDb(file: string): ForeignState {
  const dir = mkdtempSync(join(tmpdir(), "sb-foreign-state-"));
  try {
    const copy = join(dir, basename(file));
    copyFileSync(file, copy);
    // Committed transactions not yet checkpointed live in the WAL; without it the copy would miss them.
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    const store = openSessionStore(copy);
    try {
      const records = store.list({ includeEnded: true, limit: ALL }).reverse();
      return {
        sessions: records.map((record) => ({ record, messages: store.history(record.id, ALL) })),
        routing: readRoutingIndex(store.db),
      };
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readRoutingIndex(db: Database): ForeignState["routing"] {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gateway_routing'")
    .get();
  if (!exists) return [];
  const rows = db
    .prepare("SELECT session_key AS sessionKey, entry_json AS entryJson FROM gateway_routing")
    .all() as Array<{
    sessionKey: string;
    entryJson: string;
  }>;
  return rows.flatMap((r) => {
    try {
      return [{ sessionKey: r.sessionKey, entry: JSON.parse(r.entryJson) as unknown }];
    } catch {
      return [];
    }
  });
}

/** Write whole sessions (rows with their own ids and times, and their messages) in one transaction. */
export function importSessionsInto(db: Database, items: readonly ImportedSession[]): ImportResult {
  const exists = db.prepare("SELECT 1 FROM sessions WHERE id = ?").pluck();
  const insertSession =
    db.prepare(`INSERT INTO sessions (id, session_key, agent_id, platform, account, chat_id,
    chat_type, thread_id, user_id, model, started_at, updated_at, ended_at, end_reason, message_count, input_tokens,
    output_tokens, title) VALUES (@id, @sessionKey, @agentId, @platform, @account, @chatId, @chatType, @threadId,
    @userId, @model, @startedAt, @updatedAt, @endedAt, @endReason, @messageCount, @inputTokens, @outputTokens, @title)`);
  const insertMessage = db.prepare(
    "INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const run = db.transaction(() => {
    const result: ImportResult = { sessions: 0, messages: 0, skipped: [] };
    for (const { session, messages } of items) {
      if (exists.get(session.id)) {
        result.skipped.push(session.id);
        continue;
      }
      const last = messages.reduce((t, m) => Math.max(t, m.createdAt ?? 0), 0);
      insertSession.run({
        ...session,
        updatedAt: Math.max(session.updatedAt, last),
        messageCount: messages.length,
      });
      for (const m of messages) {
        insertMessage.run(
          session.id,
          m.role,
          m.content,
          m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls),
          m.toolCallId ?? null,
          m.createdAt ?? session.startedAt,
        );
      }
      result.sessions++;
      result.messages += messages.length;
    }
    return result;
  });
  return run.immediate();
}
