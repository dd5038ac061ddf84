import type { FakeSent } from "./conformance-types.ts";

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/**
 * What a fake platform received, in order, with waiting: the bookkeeping behind every fake's
 * `sent()` and `waitForSent()`.
 */
export class SentLog<T = FakeSent> {
  readonly #items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  readonly #describe: (item: T) => string;

  /** `describe` renders an item in the timeout error (default: its `text`). */
  constructor(
    describe: (item: T) => string = (item) =>
      String((item as { text?: unknown }).text ?? JSON.stringify(item)),
  ) {
    this.#describe = describe;
  }

  push(item: T): void {
    this.#items.push(item);
    for (const w of this.#waiters) {
      if (w.predicate(item)) {
        this.#waiters.delete(w);
        w.resolve(item);
      }
    }
  }

  /** Everything so far, oldest first (a copy). */
  all(): T[] {
    return [...this.#items];
  }

  get length(): number {
    return this.#items.length;
  }

  /** The first item, past or future, matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate: (item: T) => boolean, timeoutMs = 5000): Promise<T> {
    const hit = this.#items.find(predicate);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const seen = this.#items.slice(-10).map((i) => this.#describe(i).slice(0, 80));
        reject(
          new Error(
            `nothing matching arrived within ${timeoutMs} ms; last ${seen.length}: ${JSON.stringify(seen)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }
}
