import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Database } from "better-sqlite3";
import { openSessionStore } from "./sqlite/store.ts";
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
export async function readForeignStateDb(file: string): Promise<ForeignState> {
  const dir = mkdtempSync(join(tmpdir(), "sb-foreign-state-"));
  try {
    const copy = join(dir, basename(file));
    copyFileSync(file, copy);
    // Committed transactions not yet checkpointed live in the WAL; without it the copy would miss them.
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    const store = openSessionStore(copy);
    try {
      const records = (await store.list({ includeEnded: true, limit: ALL })).reverse();
      const sessions: ForeignState["sessions"] = [];
      for (const record of records) sessions.push({ record, messages: await store.history(record.id, ALL) });
      return { sessions, routing: readRoutingIndex(store.db) };
    } finally {
      await store.close();
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
