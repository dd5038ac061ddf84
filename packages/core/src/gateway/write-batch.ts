import type { Database } from "better-sqlite3";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: writes requested in the same turn of the event loop share one SQLite transaction.
 * Each write runs in its own savepoint, so one failing write rolls back only itself. Callers await
 * the commit, so "resolved" still means "durable".
 */
export class WriteBatcher {
  readonly #db: Database;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(db: Database) {
    this.#db = db;
  }

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    const results: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.#db
        .transaction(() => {
          for (const item of batch) {
            try {
              results.push({ ok: true, value: this.#db.transaction(item.fn)() });
            } catch (err) {
              results.push({ ok: false, value: err });
            }
          }
        })
        .immediate();
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => {
      const r = results[i]!;
      if (r.ok) item.resolve(r.value);
      else item.reject(r.value);
    });
  }
}
