import type { Database } from "better-sqlite3";
import type { StoredMessage } from "../store-types.ts";

/** The recent sessions whose last read is kept (each turn of a chat reads its session's history). */
const MAX_SESSIONS = 512;
/** At most this much message text is kept over all of them (the oldest read sessions go first). */
const MAX_CHARS = 8_000_000;

interface Entry {
  /** Oldest first: the session's last `limit` messages, or all of them when `complete`. */
  messages: StoredMessage[];
  limit: number;
  complete: boolean;
  /** `PRAGMA data_version` before the read that filled it: another connection's commit changes it. */
  version: number;
  chars: number;
}

const charsOf = (messages: readonly StoredMessage[]) => {
  let n = 0;
  for (const m of messages) n += m.content.length + 64;
  return n;
};

/**
 * A turn reads its session's last messages every time; this keeps the last read of recent sessions and
 * answers the next read from it, with no query but one `PRAGMA data_version`. Exact, not a best effort:
 * - this connection's appends are added to the session's entry as their commit becomes durable
 *   (`appended`, called through `WriteBatcher.afterCommit`); its rewinds drop the entry as they are written
 *   (`forget`), and an import drops every entry;
 * - a commit by any other connection (a second process on the file, a CLI command) changes
 *   `PRAGMA data_version`, and the next read of every session reads the file again.
 * The messages are shared between the entry and its readers (`StoredMessage` is read-only); each reader
 * gets its own array.
 */
export class HistoryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #version: () => number;
  #chars = 0;

  constructor(db: Database) {
    const version = db.prepare("PRAGMA data_version").pluck();
    this.#version = () => version.get() as number;
  }

  /** The session's last `limit` messages, oldest first; `full` reads them from the store. */
  read(sessionId: string, limit: number, full: () => StoredMessage[]): StoredMessage[] {
    if (limit <= 0) return [];
    const version = this.#version();
    const hit = this.#entries.get(sessionId);
    if (hit && hit.version === version && (limit <= hit.limit || hit.complete)) {
      if (limit > hit.limit) hit.limit = limit;
      // Most recently read last: the first entry is the one to drop.
      this.#entries.delete(sessionId);
      this.#entries.set(sessionId, hit);
      return hit.messages.slice(Math.max(0, hit.messages.length - limit));
    }
    this.forget(sessionId);
    const messages = full();
    const entry: Entry = {
      messages,
      limit,
      complete: messages.length < limit,
      version,
      chars: charsOf(messages),
    };
    this.#entries.set(sessionId, entry);
    this.#chars += entry.chars;
    this.#evict();
    return messages.slice();
  }

  /** Messages this connection committed to a session, oldest first. */
  appended(sessionId: string, added: StoredMessage[]): void {
    const hit = this.#entries.get(sessionId);
    if (!hit || added.length === 0) return;
    const chars = charsOf(added);
    hit.messages = hit.messages.concat(added);
    hit.chars += chars;
    this.#chars += chars;
    const over = hit.messages.length - hit.limit;
    if (over > 0) {
      const less = charsOf(hit.messages.slice(0, over));
      hit.messages = hit.messages.slice(over);
      hit.complete = false;
      hit.chars -= less;
      this.#chars -= less;
    }
    this.#evict();
  }

  /** Drop a session's entry (its messages were rewound). */
  forget(sessionId: string): void {
    const hit = this.#entries.get(sessionId);
    if (!hit) return;
    this.#chars -= hit.chars;
    this.#entries.delete(sessionId);
  }

  clear(): void {
    this.#entries.clear();
    this.#chars = 0;
  }

  #evict(): void {
    while (this.#entries.size > MAX_SESSIONS || (this.#chars > MAX_CHARS && this.#entries.size > 1)) {
      const [oldest] = this.#entries.keys();
      this.forget(oldest!);
    }
  }
}
