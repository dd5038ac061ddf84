import type { RateLimitConfig } from "../config/schema.ts";
import type { RateBuckets } from "../sessions/operations-store.ts";

export interface RateRefusal {
  kind: "rate" | "concurrency";
  scope: "user" | "key";
  retryAfterMs: number;
  message: string;
}

export interface RateSubject {
  kind: "user" | "key";
  /** `user:<platform>:<id>` or `key:<id>`. */
  id: string;
  limits: RateLimitConfig | undefined;
}

/**
 * Requests per minute (a token bucket per subject in the store, so it holds across restarts and
 * processes sharing the store) and concurrent turns (counted in this process: a restart ends every turn).
 */
export class RateLimiter {
  readonly #buckets: RateBuckets;
  readonly #running = new Map<string, number>();
  readonly #notified = new Map<string, number>();

  constructor(buckets: RateBuckets) {
    this.#buckets = buckets;
  }

  /** Check every subject; on success the turn holds a concurrency slot of each until `release`. */
  async acquire(
    subjects: readonly RateSubject[],
    now: number,
    options: { requests?: boolean; enforceConcurrency?: boolean } = {},
  ): Promise<{ release: () => void } | RateRefusal> {
    for (const s of subjects) {
      const max = s.limits?.concurrent_turns;
      if (options.enforceConcurrency !== false && max && (this.#running.get(s.id) ?? 0) >= max) {
        return {
          kind: "concurrency",
          scope: s.kind,
          retryAfterMs: 1000,
          message: `Too many turns at once (${max} allowed${s.kind === "key" ? " for this API key" : ""}); wait for one to finish.`,
        };
      }
    }
    // The slots are held before the buckets are asked (an await): a turn arriving meanwhile counts this one.
    const held = subjects.filter((s) => s.limits?.concurrent_turns).map((s) => s.id);
    for (const id of held) this.#running.set(id, (this.#running.get(id) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of held) {
        const n = (this.#running.get(id) ?? 1) - 1;
        if (n <= 0) this.#running.delete(id);
        else this.#running.set(id, n);
      }
    };
    try {
      for (const s of options.requests === false ? [] : subjects) {
        const rpm = s.limits?.requests_per_minute;
        if (!rpm) continue;
        const waitMs = await this.#buckets.take(`rpm:${s.id}`, rpm, rpm / 60_000, now);
        if (waitMs > 0) {
          release();
          return {
            kind: "rate",
            scope: s.kind,
            retryAfterMs: waitMs,
            message: `Slow down: ${rpm} requests per minute are allowed${s.kind === "key" ? " for this API key" : ""}; try again in ${Math.ceil(waitMs / 1000)} s.`,
          };
        }
      }
    } catch (err) {
      release();
      throw err;
    }
    return { release };
  }

  /** Whether to tell `subject` in chat about a refusal: once until the wait is over, not once per message. */
  shouldNotify(subjectId: string, refusal: { retryAfterMs: number }, now: number): boolean {
    const until = this.#notified.get(subjectId);
    if (until !== undefined && until > now) return false;
    this.#notified.set(subjectId, now + Math.max(refusal.retryAfterMs, 5_000));
    if (this.#notified.size > 10_000) this.#notified.delete(this.#notified.keys().next().value!);
    return true;
  }
}
