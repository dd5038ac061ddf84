/** Failed logins allowed per client address in one window before it must wait. */
const MAX_FAILURES = 10;
const WINDOW_MS = 5 * 60 * 1000;
const MAX_TRACKED = 10_000;

/**
 * Slows key guessing: after `MAX_FAILURES` failed logins from one address within `WINDOW_MS`, that address
 * is refused (429) until the window ends. Other addresses, and admins already logged in, are unaffected.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, { count: number; since: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Milliseconds until `address` may try again, or 0. */
  retryAfterMs(address: string): number {
    const f = this.#failures.get(address);
    if (!f) return 0;
    const left = f.since + WINDOW_MS - this.#now();
    if (left <= 0) {
      this.#failures.delete(address);
      return 0;
    }
    return f.count >= MAX_FAILURES ? left : 0;
  }

  fail(address: string): void {
    const now = this.#now();
    const f = this.#failures.get(address);
    if (f && f.since + WINDOW_MS > now) f.count++;
    else {
      if (this.#failures.size >= MAX_TRACKED) this.#failures.delete(this.#failures.keys().next().value!);
      this.#failures.set(address, { count: 1, since: now });
    }
  }

  succeed(address: string): void {
    this.#failures.delete(address);
  }
}

/** The peer address of a request served by `@hono/node-server` (`"unknown"` elsewhere). */
export function peerAddress(env: unknown): string {
  type Bindings = { incoming?: { socket?: { remoteAddress?: string } } };
  const e = env as (Bindings & { server?: Bindings }) | undefined;
  return (e?.server ?? e)?.incoming?.socket?.remoteAddress ?? "unknown";
}
