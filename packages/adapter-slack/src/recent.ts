/** A bounded set that forgets its oldest entries: dedupe memory that cannot grow without limit. */
export class RecentSet {
  readonly #limit: number;
  readonly #items = new Set<string>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  add(key: string): void {
    this.#items.delete(key);
    this.#items.add(key);
    if (this.#items.size > this.#limit) {
      const oldest = this.#items.values().next().value;
      if (oldest !== undefined) this.#items.delete(oldest);
    }
  }

  /** Whether `key` was seen before; remembers it either way. */
  check(key: string): boolean {
    const seen = this.#items.has(key);
    this.add(key);
    return seen;
  }
}
