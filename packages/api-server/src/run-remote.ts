import type { Replica, RunAnswer, RunTable, StoredRun, StoredRunEvent } from "@switchboard/core";
import { TERMINAL_RUN_STATUSES } from "@switchboard/core";
import type { RunEvent } from "./runs.ts";

const TERMINAL_EVENTS: ReadonlySet<string> = new Set(["run.completed", "run.failed", "run.cancelled"]);
const isTerminalStatus = (s: StoredRun["status"]) => TERMINAL_RUN_STATUSES.includes(s);
/** Events read per query while catching up. */
const PAGE = 500;

export interface RemoteRunsOptions {
  table: RunTable;
  replica: Replica;
  /** How long a follower waits between polls when no notification wakes it. */
  pollMs: () => number;
}

/**
 * Runs another process executes, through the store: read, followed (replayed, then polled or woken by a
 * notification until their final event), stopped (flagged; the executing process stops it), and failed once
 * the executing replica's presence lease has lapsed.
 */
export class RemoteRuns {
  readonly #table: RunTable;
  readonly #replica: Replica;
  readonly #pollMs: () => number;
  readonly #wakers = new Map<string, Set<() => void>>();
  #unlisten: (() => void) | undefined;

  constructor(options: RemoteRunsOptions) {
    this.#table = options.table;
    this.#replica = options.replica;
    this.#pollMs = options.pollMs;
  }

  /** The stored run; one whose replica is gone is failed first (so it never stays `running`). */
  async get(id: string): Promise<StoredRun | undefined> {
    const run = await this.#table.get(id);
    if (!run || isTerminalStatus(run.status)) return run;
    return (await this.#reapIfLost(run)) ?? run;
  }

  /** Ask the executing process to stop the run; resolves with the run as stored after the request. */
  async stop(run: StoredRun): Promise<StoredRun> {
    if (isTerminalStatus(run.status)) return run;
    await this.#table.requestStop(run.id);
    return (await this.#table.get(run.id)) ?? run;
  }

  /**
   * Write the run's events after `afterSeq`, then follow new ones until the final event (or `signal`). New events
   * are seen within one poll interval, at once where the store notifies.
   */
  async follow(
    id: string,
    afterSeq: number,
    write: (e: RunEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let last = afterSeq;
    let wake: (() => void) | undefined;
    /** A notification came while reading: read again rather than sleep through it. */
    let dirty = false;
    const onChange = () => {
      dirty = true;
      wake?.();
    };
    const unsubscribe = this.#onChange(id, onChange);
    let lastLivenessCheck = Date.now();
    try {
      for (;;) {
        if (signal.aborted) return;
        dirty = false;
        const events = await this.#table.events(id, last, PAGE);
        for (const e of events) {
          write(toRunEvent(e));
          last = e.seq;
          if (TERMINAL_EVENTS.has(e.event)) return;
        }
        if (events.length === PAGE) continue;
        const run = await this.#table.get(id);
        if (!run) return;
        if (isTerminalStatus(run.status)) {
          // Its state and final event are one commit: read what is left, then end.
          if (run.lastSeq > last) continue;
          return;
        }
        if (Date.now() - lastLivenessCheck >= this.#replica.leaseMs / 2) {
          lastLivenessCheck = Date.now();
          if (await this.#reapIfLost(run)) continue;
        }
        if (dirty) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.#pollMs());
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          }
          wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      unsubscribe();
    }
  }

  /** Be woken when the store says the run `id` was written (where it can tell: PostgreSQL's NOTIFY). */
  #onChange(id: string, fn: () => void): () => void {
    if (!this.#table.listen) return () => {};
    this.#unlisten ??= this.#table.listen((runId) => {
      for (const f of this.#wakers.get(runId) ?? []) f();
    });
    let set = this.#wakers.get(id);
    if (!set) this.#wakers.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#wakers.delete(id);
    };
  }

  /** Fail a run whose executing replica is no longer alive; the run as stored after, or undefined when alive. */
  async #reapIfLost(run: StoredRun): Promise<StoredRun | undefined> {
    if (run.replicaId === this.#replica.id || (await this.#replica.alive(run.replicaId))) return undefined;
    const seq = run.lastSeq + 1;
    const error = {
      message: `The replica executing this run (${run.replicaId}) stopped before the run finished (its lease lapsed); start the run again.`,
      code: "replica_lost",
    };
    const data = {
      event: "run.failed",
      run_id: run.id,
      seq,
      timestamp: Date.now() / 1000,
      error,
      output: run.output,
    };
    await this.#table
      .update(run.id, { ...run, status: "failed", completedAt: Date.now(), error, pendingApprovals: [] }, [
        { seq, event: "run.failed", data },
      ])
      // Another replica failed it first (the same event at the same seq): what it wrote stands.
      .catch(() => false);
    return (await this.#table.get(run.id)) ?? run;
  }

  /**
   * Answer a waiting tool call of a run executing elsewhere: recorded in the store, applied by the executing
   * replica at its next poll. Resolves `answered` once its `approval.resolved` event shows this answer,
   * `refused` when the call was answered before (or timed out), `timeout` when the executing replica did not
   * apply it within `timeoutMs`.
   */
  async answer(
    run: StoredRun,
    answer: RunAnswer,
    timeoutMs: number,
  ): Promise<"answered" | "refused" | "timeout"> {
    if (!(await this.#table.answer(answer))) return "refused";
    const done = new AbortController();
    const timer = setTimeout(() => done.abort(), timeoutMs);
    let resolved: Record<string, unknown> | undefined;
    try {
      await this.follow(
        run.id,
        run.lastSeq,
        (e) => {
          if (e.event !== "approval.resolved" || e.data.approval_id !== answer.approvalId) return;
          resolved = e.data;
          done.abort();
        },
        done.signal,
      );
    } finally {
      clearTimeout(timer);
    }
    if (!resolved) return done.signal.aborted ? "timeout" : "refused";
    return resolved.by === answer.by && resolved.approved === answer.approved ? "answered" : "refused";
  }

  /** Fail the unfinished runs of replicas that are gone (nobody may be reading them); resolves with how many. */
  async reapLost(): Promise<number> {
    let reaped = 0;
    const alive = new Map<string, boolean>();
    for (const { id, replicaId } of await this.#table.unfinished()) {
      if (replicaId === this.#replica.id) continue;
      if (!alive.has(replicaId)) alive.set(replicaId, await this.#replica.alive(replicaId));
      if (alive.get(replicaId)) continue;
      const run = await this.#table.get(id);
      if (run && !isTerminalStatus(run.status) && (await this.#reapIfLost(run))) reaped++;
    }
    return reaped;
  }

  close(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#wakers.clear();
  }
}

const toRunEvent = (e: StoredRunEvent): RunEvent => ({ seq: e.seq, event: e.event, data: e.data });
