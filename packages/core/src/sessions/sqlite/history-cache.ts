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
  /** The id of the last message held (0: none), past which the next read asks for more. */
  lastId: number;
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
 * A turn reads its session's last messages every time; this keeps the last read of recent sessions so the
 * next read fetches only the rows added since (one index range, usually one or two rows) instead of all
 * of them. Exact, not a best effort:
 * - rows are only ever added to a session, or removed as a suffix by a rewind; this connection's rewinds
 *   drop the session's entry as they are written (`forget`), and an import drops every entry;
 * - a commit by any other connection (a second process on the file, a CLI command) changes
 *   `PRAGMA data_version`, which is read after the added rows: a changed value reads everything again.
 * The messages are shared between the entry and its readers (`StoredMessage` is read-only); each reader
 * gets its own array.
 */
export class HistoryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #version: () => number;
  readonly #since: (sessionId: string, afterId: number) => StoredMessage[];
  #chars = 0;

  /** `since` reads a session's messages after an id, oldest first. */
  constructor(db: Database, since: (sessionId: string, afterId: number) => StoredMessage[]) {
    const version = db.prepare("PRAGMA data_version").pluck();
    this.#version = () => version.get() as number;
    this.#since = since;
  }

  /** The session's last `limit` messages, oldest first; `full` reads them from the store. */
  read(sessionId: string, limit: number, full: () => StoredMessage[]): StoredMessage[] {
    if (limit <= 0) return [];
    const hit = this.#entries.get(sessionId);
    if (hit && (limit <= hit.limit || hit.complete)) {
      const added = this.#since(sessionId, hit.lastId);
      if (this.#version() === hit.version) {
        if (limit > hit.limit) hit.limit = limit;
        if (added.length > 0) this.#extend(hit, added);
        // Most recently read last: the first entry is the one to drop.
        this.#entries.delete(sessionId);
        this.#entries.set(sessionId, hit);
        return hit.messages.slice(Math.max(0, hit.messages.length - limit));
      }
    }
    this.forget(sessionId);
    const version = this.#version();
    const messages = full();
    const entry: Entry = {
      messages,
      limit,
      complete: messages.length < limit,
      lastId: messages.length > 0 ? messages[messages.length - 1]!.id : 0,
      version,
      chars: charsOf(messages),
    };
    this.#entries.set(sessionId, entry);
    this.#chars += entry.chars;
    this.#evict();
    return messages.slice();
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

  #extend(hit: Entry, added: StoredMessage[]): void {
    const chars = charsOf(added);
    hit.messages = hit.messages.concat(added);
    hit.chars += chars;
    this.#chars += chars;
    hit.lastId = added[added.length - 1]!.id;
    const over = hit.messages.length - hit.limit;
    if (over > 0) {
      const dropped = hit.messages.slice(0, over);
      hit.messages = hit.messages.slice(over);
      hit.complete = false;
      const less = charsOf(dropped);
      hit.chars -= less;
      this.#chars -= less;
    }
    this.#evict();
  }

  #evict(): void {
    while (this.#entries.size > MAX_SESSIONS || (this.#chars > MAX_CHARS && this.#entries.size > 1)) {
      const [oldest] = this.#entries.keys();
      this.forget(oldest!);
    }
  }
}
