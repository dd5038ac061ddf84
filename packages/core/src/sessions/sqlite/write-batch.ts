import type { Database } from "better-sqlite3";
import { listening, publish } from "../../telemetry/facts.ts";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Fails only when the database does (see `run`'s `guarded`): runs without a savepoint of its own. */
  unguarded?: boolean;
}

type Result = { ok: boolean; value: unknown };

/**
 * Group commit: writes requested in the same turn of the event loop share one SQLite transaction.
 * Each write runs in its own savepoint, so one failing write rolls back only itself (a lone write, and
 * writes that can fail only with the database, need none: see `run`). Callers await
 * the commit, so "resolved" means "durable": the whole batch is committed first, then every waiting
 * caller is released at once, so answers that wait on their write still share one commit.
 */
export class WriteBatcher {
  #queue: Pending[] = [];
  #scheduled = false;
  // Built once: better-sqlite3 makes new wrapper functions on every `transaction()` call.
  readonly #commit: (batch: Pending[]) => Result[];

  readonly #onCommit: (() => void) | undefined;

  /** What the writes of the batch being committed asked to do once it is durable (`afterCommit`). */
  #after: Array<() => void> = [];

  /** One write of the batch; what it asked for with `afterCommit` is dropped if it fails. */
  #run(item: Pending): unknown {
    const mark = this.#after.length;
    try {
      return item.fn();
    } catch (err) {
      this.#after.length = mark;
      throw err;
    }
  }

  /** `onCommit` runs after each successful commit (the WAL checkpointer counts them). */
  constructor(db: Database, onCommit?: () => void) {
    this.#onCommit = onCommit;
    const savepoint = db.transaction((item: Pending) => this.#run(item));
    /** Every guarded write in its savepoint, then the unguarded ones (any of those failing fails the batch). */
    const all = db.transaction((batch: Pending[]) => {
      const results: Result[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const item = batch[i]!;
        if (item.unguarded) continue;
        try {
          results[i] = { ok: true, value: savepoint(item) };
        } catch (err) {
          results[i] = { ok: false, value: err };
        }
      }
      for (let i = 0; i < batch.length; i++)
        if (batch[i]!.unguarded) results[i] = { ok: true, value: this.#run(batch[i]!) };
      return results;
    });
    // One guarded write needs no savepoint: it runs first, and when it fails the transaction (holding only
    // what it wrote) is rolled back and the unguarded writes run in a new one.
    let failed: { error: unknown } | undefined;
    /** Every write of the batch but the one at `at`, into `results`. */
    const others = (batch: Pending[], at: number, results: Result[]) => {
      for (let i = 0; i < batch.length; i++)
        if (i !== at) results[i] = { ok: true, value: this.#run(batch[i]!) };
      return results;
    };
    const first = db.transaction((batch: Pending[], at: number) => {
      const results: Result[] = new Array(batch.length);
      try {
        results[at] = { ok: true, value: this.#run(batch[at]!) };
      } catch (error) {
        failed = { error };
        throw error;
      }
      return others(batch, at, results);
    });
    const rest = db.transaction((batch: Pending[], at: number) => others(batch, at, new Array(batch.length)));
    this.#commit = (batch) => {
      let guarded = -1;
      for (let i = 0; i < batch.length; i++) {
        if (batch[i]!.unguarded) continue;
        if (guarded !== -1) return all.immediate(batch);
        guarded = i;
      }
      if (guarded === -1) return all.immediate(batch);
      failed = undefined;
      try {
        return first.immediate(batch, guarded);
      } catch (err) {
        const f = failed as { error: unknown } | undefined;
        if (!f) throw err;
        const results = batch.length > 1 ? rest.immediate(batch, guarded) : [];
        results[guarded] = { ok: false, value: f.error };
        return results;
      }
    };
  }

  #closed: string | undefined;

  /** Whether a write is queued and not yet committed (a read now would not see it). */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /**
   * Queue a write for the next group commit; resolves with its result once the batch is committed. A write
   * that fails rolls back only itself. `guarded: false` is for a write that can fail only when the database
   * does (an insert with no constraint to break): it skips its own savepoint, and if it does fail, every
   * write of its commit fails with it.
   */
  run<T>(fn: () => T, options?: { guarded?: boolean }): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(this.#closed));
    return new Promise<T>((resolve, reject) => {
      const item: Pending = { fn, resolve: resolve as (v: unknown) => void, reject };
      if (options?.guarded === false) item.unguarded = true;
      this.#queue.push(item);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * From inside a write: run `fn` once that write's commit is durable, before any caller hears of it (and
   * never, if the write or its commit fails). For state kept beside the database, such as a cache of it.
   */
  afterCommit(fn: () => void): void {
    this.#after.push(fn);
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
    let results: Result[];
    const started = listening("store") ? performance.now() : 0;
    this.#after = [];
    try {
      results = this.#commit(batch);
    } catch (err) {
      this.#after = [];
      if (started) publish("store", { op: "commit", durationMs: performance.now() - started, ok: false });
      for (const item of batch) item.reject(err);
      return;
    }
    if (started) publish("store", { op: "commit", durationMs: performance.now() - started, ok: true });
    const after = this.#after;
    this.#after = [];
    for (const fn of after) fn();
    this.#onCommit?.();
    batch.forEach((item, i) => {
      const r = results[i]!;
      if (r.ok) item.resolve(r.value);
      else item.reject(r.value);
    });
  }
}
