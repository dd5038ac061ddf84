import type { Logger, RunRetention, RunState, RunTable } from "@switchboard/core";
import type { Run, RunEvent } from "./runs.ts";

interface Pending {
  events: RunEvent[];
  /** The last write of the run; the next one waits for it, so the store sees events in order. */
  chain: Promise<void>;
  scheduled: boolean;
  /** Writes failed in a row: retried with backoff, given up after `MAX_ATTEMPTS`. */
  failures: number;
}

const MAX_ATTEMPTS = 6;
const RETRY_MS = 200;

/** A run's state as the store keeps it (times in epoch ms). */
export function runState(run: Run): RunState {
  return {
    status: run.status,
    completedAt: run.completedAt === null ? null : run.completedAt * 1000,
    output: run.output,
    usage: run.usage ? { inputTokens: run.usage.inputTokens, outputTokens: run.usage.outputTokens } : null,
    error: run.error,
    pendingApprovals: run.pendingApprovals.map((a) => ({ ...a })),
  };
}

/**
 * Writes the runs this process executes to the store, for readers on other processes. One write per run is in
 * flight at a time: events emitted meanwhile go in the next one, so a fast stream costs a write per store round
 * trip, not per token, and the in-process listeners never wait for the store.
 */
export class RunJournal {
  readonly #table: RunTable;
  readonly #retention: () => RunRetention;
  readonly #logger: Logger | undefined;
  readonly #pending = new Map<string, Pending>();

  constructor(table: RunTable, retention: () => RunRetention, logger?: Logger) {
    this.#table = table;
    this.#retention = retention;
    this.#logger = logger;
  }

  /** Store a new run with the events it has so far; resolves once committed (another replica can read it). */
  async create(run: Run, replicaId: string): Promise<void> {
    const created = this.#table.create(
      {
        id: run.id,
        owner: run.owner,
        agentId: run.agentId,
        sessionId: run.sessionId,
        createdAt: run.createdAt * 1000,
        replicaId,
        ...runState(run),
      },
      [...run.events],
      this.#retention(),
    );
    this.#pending.set(run.id, { events: [], chain: created.catch(() => {}), scheduled: false, failures: 0 });
    try {
      await created;
    } catch (err) {
      this.#pending.delete(run.id);
      throw err;
    }
  }

  /** Queue a kept event (and the run's state with it) for the run's next write. */
  record(run: Run, event: RunEvent): void {
    const p = this.#pending.get(run.id);
    if (!p) return;
    p.events.push(event);
    this.#schedule(run, p);
  }

  /** Queue the run's state (no new event), e.g. once a stop was asked. */
  touch(run: Run): void {
    const p = this.#pending.get(run.id);
    if (p) this.#schedule(run, p);
  }

  /** Resolves once every queued write has been tried (retries included, or given up). */
  async flush(): Promise<void> {
    for (let round = 0; round <= MAX_ATTEMPTS; round++) {
      const pending = [...this.#pending.values()];
      await Promise.all(pending.map((p) => p.chain));
      // A write that failed is retried from a timer: wait for that rather than return with it queued.
      if (pending.every((p) => !p.scheduled && p.events.length === 0 && p.failures === 0)) return;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  #schedule(run: Run, p: Pending): void {
    if (p.scheduled) return;
    p.scheduled = true;
    p.chain = p.chain.then(async () => {
      p.scheduled = false;
      const events = p.events.splice(0);
      const terminal = run.completedAt !== null;
      try {
        await this.#table.update(run.id, runState(run), events);
        p.failures = 0;
        if (terminal && !p.scheduled) this.#pending.delete(run.id);
      } catch (err) {
        // Kept for the next attempt, so followers elsewhere still get every event and the end.
        p.events.unshift(...events);
        p.failures++;
        this.#logger?.warn(
          { err, run: run.id, attempt: p.failures },
          "api: could not write a run's events to the store",
        );
        if (p.failures >= MAX_ATTEMPTS) {
          this.#pending.delete(run.id);
          return;
        }
        setTimeout(() => this.#schedule(run, p), RETRY_MS * 2 ** (p.failures - 1)).unref();
      }
    });
  }
}
