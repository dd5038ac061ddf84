export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export type BreakerState = "closed" | "open" | "half-open" | "paused";

/**
 * A circuit breaker for one platform account's sends: after `failures` failed sends in a row it opens
 * and refuses sends for a cooldown (doubling on each failed trial, up to the maximum); after the cooldown
 * one trial send is let through (half-open), and a success closes it. An admin pause holds it open.
 */
export class CircuitBreaker {
  readonly #o: BreakerOptions;
  #failures = 0;
  #state: BreakerState = "closed";
  #openUntil = 0;
  #cooldown: number;
  #reason: string | undefined;

  constructor(options: BreakerOptions) {
    this.#o = options;
    this.#cooldown = options.cooldownMs;
  }

  get state(): BreakerState {
    return this.#state;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  /** When an open breaker lets the next trial through (epoch ms). */
  get retryAt(): number | undefined {
    return this.#state === "open" ? this.#openUntil : undefined;
  }

  /** May a send go out now? Moves an open breaker past its cooldown to half-open. */
  allow(now: number): boolean {
    if (this.#state === "paused") return false;
    if (this.#state === "open") {
      if (now < this.#openUntil) return false;
      this.#state = "half-open";
    }
    return true;
  }

  /** Returns true when this success closed an open breaker. */
  success(): boolean {
    const was = this.#state;
    this.#failures = 0;
    if (was === "paused") return false;
    this.#state = "closed";
    this.#cooldown = this.#o.cooldownMs;
    this.#reason = undefined;
    return was === "half-open" || was === "open";
  }

  /** Returns true when this failure opened the breaker. */
  failure(now: number, reason: string): boolean {
    if (this.#state === "paused") return false;
    this.#failures++;
    this.#reason = reason;
    if (this.#state === "half-open") {
      this.#cooldown = Math.min(this.#cooldown * 2, this.#o.maxCooldownMs);
      this.#state = "open";
      this.#openUntil = now + this.#cooldown;
      return true;
    }
    if (this.#state === "closed" && this.#failures >= this.#o.failures) {
      this.#state = "open";
      this.#openUntil = now + this.#cooldown;
      return true;
    }
    return false;
  }

  pause(reason: string): void {
    this.#state = "paused";
    this.#reason = reason;
  }

  resume(): void {
    this.#state = "closed";
    this.#failures = 0;
    this.#cooldown = this.#o.cooldownMs;
    this.#reason = undefined;
  }
}
