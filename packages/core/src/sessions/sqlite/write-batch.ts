import type { Database } from "better-sqlite3";
import { listening, publish } from "../../telemetry/facts.ts";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: writes requested in the same turn of the event loop share one SQLite transaction.
 * Each write runs in its own savepoint, so one failing write rolls back only itself. Callers await
 * the commit, so "resolved" means "durable": the whole batch is committed first, then every waiting
 * caller is released at once, so answers that wait on their write still share one commit.
 */
export class WriteBatcher {
  #queue: Pending[] = [];
  #scheduled = false;
  // Built once: better-sqlite3 makes new wrapper functions on every `transaction()` call.
  readonly #commit: (batch: Pending[]) => Array<{ ok: boolean; value: unknown }>;

  readonly #onCommit: (() => void) | undefined;

  /** `onCommit` runs after each successful commit (the WAL checkpointer counts them). */
  constructor(db: Database, onCommit?: () => void) {
    this.#onCommit = onCommit;
    const savepoint = db.transaction((fn: () => unknown) => fn());
    const all = db.transaction((batch: Pending[]) => {
      const results: Array<{ ok: boolean; value: unknown }> = [];
      for (const item of batch) {
        try {
          results.push({ ok: true, value: savepoint(item.fn) });
        } catch (err) {
          results.push({ ok: false, value: err });
        }
      }
      return results;
    });
    // A batch of one needs no savepoint: its failure rolls back a transaction holding nothing else.
    const one = db.transaction((fn: () => unknown) => fn());
    this.#commit = (batch) => {
      if (batch.length !== 1) return all.immediate(batch);
      try {
        return [{ ok: true, value: one.immediate(batch[0]!.fn) }];
      } catch (err) {
        return [{ ok: false, value: err }];
      }
    };
  }

  #closed: string | undefined;

  /** Whether a write is queued and not yet committed (a read now would not see it). */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /** Queue a write for the next group commit; resolves with its result once the batch is committed. */
  run<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(this.#closed));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** A read: runs now (it sees every committed write), its result or error as a promise. */
  read<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(this.#closed));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Commit what is queued now, then refuse further work with `reason`. */
  close(reason: string): void {
    this.flush();
    this.#closed = reason;
  }

  /** Commit what is queued, now. */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    let results: Array<{ ok: boolean; value: unknown }>;
    const started = listening("store") ? performance.now() : 0;
    try {
      results = this.#commit(batch);
    } catch (err) {
      if (started) publish("store", { op: "commit", durationMs: performance.now() - started, ok: false });
      for (const item of batch) item.reject(err);
      return;
    }
    if (started) publish("store", { op: "commit", durationMs: performance.now() - started, ok: true });
    this.#onCommit?.();
    batch.forEach((item, i) => {
      const r = results[i]!;
      if (r.ok) item.resolve(r.value);
      else item.reject(r.value);
    });
  }
}
