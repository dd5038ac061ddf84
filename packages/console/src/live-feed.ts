import { type Facts, onFact, type SessionStore } from "@switchboard/core";

/** One finished turn as the live view shows it. */
export interface TurnRecord {
  turnId: string;
  /** When it ended (epoch ms). */
  at: number;
  agentId: string;
  platform: string;
  account: string | null;
  sessionId: string;
  sessionKey: string | null;
  latencyMs: number;
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  outcome: Extract<Facts["turn"], { phase: "end" }>["outcome"];
  error: string | null;
}

const HOUR_MS = 60 * 60 * 1000;
const MAX_RECORDS = 20_000;
const MAX_PENDING = 10_000;

interface Pending {
  agentId: string;
  platform: string;
  sessionId: string;
  inputTokens: number;
  outputTokens: number;
  error: string | null;
}

/**
 * The console's view of traffic, from the facts core publishes on `node:diagnostics_channel` (the same
 * ones `/metrics` counts): the last hour of finished turns and each agent's last error.
 * It subscribes when the console loads, so it knows the traffic since then.
 */
export class LiveFeed {
  readonly #store: () => Pick<SessionStore, "get">;
  readonly #records: TurnRecord[] = [];
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(r: TurnRecord) => void>();
  readonly #lastError = new Map<string, { at: number; message: string }>();
  readonly #off: Array<() => void>;
  readonly #now: () => number;

  constructor(store: () => Pick<SessionStore, "get">, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
    this.#off = [
      onFact("turn", (f) => this.#turn(f)),
      onFact("model", (f) => {
        if (f.phase !== "end") return;
        const p = this.#pending.get(f.turnId);
        if (p) {
          p.inputTokens += f.inputTokens;
          p.outputTokens += f.outputTokens;
          if (f.error) p.error = f.error;
        }
        if (f.error) this.#lastError.set(f.agentId, { at: f.at, message: f.error });
      }),
    ];
  }

  #turn(f: Facts["turn"]): void {
    if (f.phase === "start") {
      if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
      this.#pending.set(f.turnId, {
        agentId: f.agentId,
        platform: f.platform,
        sessionId: f.sessionId,
        inputTokens: 0,
        outputTokens: 0,
        error: null,
      });
      return;
    }
    const p = this.#pending.get(f.turnId);
    this.#pending.delete(f.turnId);
    if (!p) return;
    if (f.outcome === "error" && !this.#lastError.has(f.agentId))
      this.#lastError.set(f.agentId, { at: f.at, message: p.error ?? "the turn failed" });
    void this.#finish(f, p);
  }

  async #finish(f: Extract<Facts["turn"], { phase: "end" }>, p: Pending): Promise<void> {
    let session: Awaited<ReturnType<SessionStore["get"]>>;
    try {
      session = await this.#store().get(p.sessionId);
    } catch {
      session = undefined;
    }
    const record: TurnRecord = {
      turnId: f.turnId,
      at: f.at,
      agentId: f.agentId,
      platform: p.platform,
      account: session?.account ?? null,
      sessionId: p.sessionId,
      sessionKey: session?.sessionKey ?? null,
      latencyMs: Math.round(f.durationMs),
      ttftMs: f.ttftMs === undefined ? null : Math.round(f.ttftMs),
      inputTokens: p.inputTokens,
      outputTokens: p.outputTokens,
      outcome: f.outcome,
      error: p.error,
    };
    this.#records.push(record);
    this.#trim();
    for (const fn of this.#listeners) fn(record);
  }

  #trim(): void {
    const cutoff = this.#now() - HOUR_MS;
    let drop = 0;
    while (drop < this.#records.length && this.#records[drop]!.at < cutoff) drop++;
    if (this.#records.length - drop > MAX_RECORDS) drop = this.#records.length - MAX_RECORDS;
    if (drop > 0) this.#records.splice(0, drop);
  }

  /** The finished turns of the last hour, oldest first. */
  recent(): TurnRecord[] {
    this.#trim();
    return [...this.#records];
  }

  /** Call `fn` with every turn that finishes from now on; returns the unsubscribe function. */
  subscribe(fn: (r: TurnRecord) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  lastError(agentId: string): { at: number; message: string } | undefined {
    return this.#lastError.get(agentId);
  }

  /** Turns of an agent in the last hour. */
  count(agentId: string): number {
    return this.recent().filter((r) => r.agentId === agentId).length;
  }

  close(): void {
    for (const off of this.#off) off();
    this.#listeners.clear();
  }
}
