import type {
  AgentEvent,
  ApprovalDecision,
  LeaseTable,
  Logger,
  RunAnswer,
  RunTable,
  StoredRun,
  TurnHandle,
  Usage,
} from "@switchboard/core";
import { Replica, silentLogger } from "@switchboard/core";
import { ApiError } from "./errors.ts";
import { newId, nowSeconds } from "./ids.ts";
import { RunJournal } from "./run-journal.ts";
import { RemoteRuns } from "./run-remote.ts";
import { usageOf } from "./run-view.ts";
import { RunWatch } from "./run-watch.ts";

export type RunStatus = "running" | "cancelling" | "completed" | "failed" | "cancelled";

/** One event of a run, as replayed and streamed by `GET /v1/runs/{id}/events`. */
export interface RunEvent {
  seq: number;
  event: string;
  data: Record<string, unknown>;
}

/** A listener gets each event; `null` once the run has ended and no event will follow. */
type Listener = (event: RunEvent | null) => void;

export interface Run {
  readonly id: string;
  /** The key that started it; no other key can see or stop it. */
  readonly owner: string;
  readonly agentId: string;
  readonly sessionId: string;
  status: RunStatus;
  readonly createdAt: number;
  completedAt: number | null;
  output: string;
  usage: Usage | null;
  error: { message: string; code: string | null } | null;
  readonly events: RunEvent[];
  /** Deltas past the buffer cap were streamed live but not kept for replay (the final event still has the output). */
  truncated: boolean;
  nextSeq: number;
  readonly listeners: Set<Listener>;
  readonly controller: AbortController;
  handle: TurnHandle | undefined;
  /** Tool calls of this run waiting for `POST /v1/runs/{id}/approve|deny`, oldest first. */
  readonly pendingApprovals: Array<{ id: string; tool: string }>;
  /** Settles one of them (the gateway's approval broker): how an answer given on another replica is applied. */
  readonly resolveApproval: ((id: string, decision: ApprovalDecision) => boolean) | undefined;
}

export interface RunRegistryOptions {
  /** Runs one key may have executing at once; more answer 429 (default `api_server.max_active_runs_per_key`). */
  maxActivePerKey?: number | (() => number);
  /** How long a finished run stays readable. */
  retentionMs?: number;
  /** Finished runs kept at most (oldest dropped first). */
  maxRetained?: number;
  /** Events buffered per run for replay. */
  maxEvents?: number;
  logger?: Logger;
  /**
   * Where runs and their events are written for every process on the store, so another replica can read,
   * follow and stop them. Without it, runs live in this process only.
   */
  store?: { runs: RunTable; leases: LeaseTable };
  /** This process's replica (its presence lease tells others its runs are alive); default one over `store.leases`. */
  replica?: Replica | undefined;
  /** How often a run of another process is polled (its events, a stop asked for a run executing here); default 250 ms. */
  pollMs?: number | (() => number);
}

const SWEEP_MS = 60_000;
const TERMINAL: ReadonlySet<RunStatus> = new Set(["completed", "failed", "cancelled"]);

export const isTerminal = (status: RunStatus): boolean => TERMINAL.has(status);

/** Asynchronous runs (`POST /v1/runs`): each is a gateway turn whose events are buffered for replay and fanned out live. */
export class RunRegistry {
  readonly #runs = new Map<string, Run>();
  /** The runs executing here, until their last event is emitted. */
  readonly #executing = new Set<Promise<void>>();
  /** The runs `close` stopped: they end `failed` (code `shutdown`), not `cancelled` as by a user's stop. */
  readonly #shutDown = new WeakSet<Run>();
  readonly #maxActivePerKey: () => number;
  /** Executing runs per owner. */
  readonly #activeBy = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #maxRetained: number;
  readonly #maxEvents: number;
  readonly #logger: Logger | undefined;
  #active = 0;
  readonly #shared:
    | {
        table: RunTable;
        journal: RunJournal;
        remote: RemoteRuns;
        replica: Replica;
        ownReplica: boolean;
        watch: RunWatch;
      }
    | undefined;
  /** When this process last swept the store for runs of dead replicas (see `start`). */
  #sweptAt = 0;

  constructor(options: RunRegistryOptions = {}) {
    const limit = options.maxActivePerKey ?? 32;
    this.#maxActivePerKey = typeof limit === "function" ? limit : () => limit;
    this.#retentionMs = options.retentionMs ?? 60 * 60_000;
    this.#maxRetained = options.maxRetained ?? 1000;
    this.#maxEvents = options.maxEvents ?? 10_000;
    this.#logger = options.logger;
    if (options.store) {
      const table = options.store.runs;
      const replica =
        options.replica ??
        new Replica({ leases: options.store.leases, logger: options.logger ?? silentLogger() });
      const poll = options.pollMs ?? 250;
      const pollMs = typeof poll === "function" ? poll : () => poll;
      this.#shared = {
        table,
        replica,
        ownReplica: !options.replica,
        watch: new RunWatch(
          table,
          pollMs,
          {
            activeIds: () => [...this.#runs.values()].filter((r) => !isTerminal(r.status)).map((r) => r.id),
            stop: (id) => {
              const run = this.#runs.get(id);
              if (run) this.stop(run);
            },
            answer: (a) => {
              const run = this.#runs.get(a.runId);
              if (!run?.pendingApprovals.some((p) => p.id === a.approvalId)) return;
              run.resolveApproval?.(a.approvalId, {
                approved: a.approved,
                by: a.by,
                ...(a.reason ? { reason: a.reason } : {}),
              });
            },
          },
          options.logger,
        ),
        journal: new RunJournal(
          table,
          () => ({ maxAgeMs: this.#retentionMs, maxCount: this.#maxRetained }),
          options.logger,
        ),
        remote: new RemoteRuns({ table, replica, pollMs }),
      };
    }
  }

  /**
   * The key's executing runs: here, plus (replicas on a shared store) those other live replicas execute. Two
   * admissions on two replicas at the same moment may both pass (the count is read, not locked): by at most
   * one run per replica.
   */
  async #activeOf(owner: string): Promise<number> {
    const here = this.#activeBy.get(owner) ?? 0;
    const shared = this.#shared;
    if (!shared || shared.ownReplica) return here;
    let elsewhere = 0;
    const alive = new Map<string, boolean>();
    try {
      for (const { replicaId } of await shared.table.activeOf(owner)) {
        if (replicaId === shared.replica.id) continue;
        if (!alive.has(replicaId)) alive.set(replicaId, await shared.replica.alive(replicaId));
        if (alive.get(replicaId)) elsewhere++;
      }
    } catch (err) {
      // The store is unreachable: this replica's count still holds.
      this.#logger?.warn({ err }, "api: cannot count this key's runs on other replicas");
    }
    return here + elsewhere;
  }

  get active(): number {
    return this.#active;
  }

  /**
   * Register a run and start it; `begin` starts the gateway turn with the run's abort signal. With a store, it
   * resolves once the run is stored (readable from every replica).
   */
  async start(params: {
    owner: string;
    agentId: string;
    sessionId: string;
    begin: (signal: AbortSignal) => Promise<TurnHandle>;
    resolveApproval?: (id: string, decision: ApprovalDecision) => boolean;
  }): Promise<Run> {
    this.#sweep();
    const max = this.#maxActivePerKey();
    if ((await this.#activeOf(params.owner)) >= max) {
      throw new ApiError(
        429,
        `Too many runs in progress for this API key (at most ${max}); retry when one finishes.`,
        {
          type: "rate_limit_error",
          code: "rate_limit_exceeded",
        },
      );
    }
    const run: Run = {
      id: newId("run_"),
      owner: params.owner,
      agentId: params.agentId,
      sessionId: params.sessionId,
      status: "running",
      createdAt: nowSeconds(),
      completedAt: null,
      output: "",
      usage: null,
      error: null,
      events: [],
      truncated: false,
      nextSeq: 0,
      listeners: new Set(),
      controller: new AbortController(),
      handle: undefined,
      pendingApprovals: [],
      resolveApproval: params.resolveApproval,
    };
    this.#runs.set(run.id, run);
    this.#active++;
    this.#activeBy.set(run.owner, (this.#activeBy.get(run.owner) ?? 0) + 1);
    this.#emit(run, "run.started", { agent: run.agentId, session_id: run.sessionId });
    const shared = this.#shared;
    if (shared) {
      try {
        // Alive before it is stored: a reader elsewhere never sees the run without a live replica.
        await shared.replica.startPresence();
        await shared.journal.create(run, shared.replica.id);
      } catch (err) {
        this.#runs.delete(run.id);
        this.#release(run);
        this.#logger?.error({ err, run: run.id }, "api: could not store a new run");
        throw new ApiError(
          503,
          `The run could not be stored (${(err as Error)?.message ?? String(err)}); nothing was started: retry.`,
          { type: "server_error", code: "store_unavailable", cause: err },
        );
      }
      shared.watch.start();
      // Runs of a replica that died and that nobody reads would stay `running` (and never be pruned): the
      // processes that start runs fail them, at most once a minute.
      if (Date.now() - this.#sweptAt >= SWEEP_MS) {
        this.#sweptAt = Date.now();
        void shared.remote
          .reapLost()
          .catch((err: unknown) =>
            this.#logger?.warn({ err }, "api: cannot sweep the runs of dead replicas"),
          );
      }
    }
    const executing = this.#execute(run, params.begin);
    this.#executing.add(executing);
    void executing.finally(() => this.#executing.delete(executing));
    return run;
  }

  /**
   * The run if `owner` may see it: executing here (`local`), or, with a store, as another process stored it
   * (`stored`; one whose replica died is failed first).
   */
  async find(id: string, owner: string): Promise<{ local: Run } | { stored: StoredRun } | undefined> {
    const local = this.get(id, owner);
    if (local) return { local };
    const stored = await this.#shared?.remote.get(id);
    return stored && stored.owner === owner ? { stored } : undefined;
  }

  /** Ask the process executing a stored run to stop it (it notices within a poll interval). */
  async stopStored(run: StoredRun): Promise<StoredRun> {
    return this.#shared ? this.#shared.remote.stop(run) : run;
  }

  /** Follow a run another process executes: its stored events after `afterSeq`, then new ones until it ends. */
  follow(id: string, afterSeq: number, write: (e: RunEvent) => void, signal: AbortSignal): Promise<void> {
    return this.#shared ? this.#shared.remote.follow(id, afterSeq, write, signal) : Promise.resolve();
  }

  /** Answer a waiting tool call of a run another process executes (see `RemoteRuns.answer`). */
  answerStored(
    run: StoredRun,
    answer: RunAnswer,
    timeoutMs: number,
  ): Promise<"answered" | "refused" | "timeout"> {
    return this.#shared ? this.#shared.remote.answer(run, answer, timeoutMs) : Promise.resolve("refused");
  }

  /** The run if `owner` may see it. */
  get(id: string, owner: string): Run | undefined {
    const run = this.#runs.get(id);
    return run && run.owner === owner ? run : undefined;
  }

  /** Ask a running run to stop; it ends as `cancelled`. */
  stop(run: Run): void {
    if (isTerminal(run.status) || run.status === "cancelling") return;
    run.status = "cancelling";
    run.controller.abort("stopped");
    run.handle?.abort("stopped");
    this.#shared?.journal.touch(run);
  }

  /** Replay events after `afterSeq`, then follow live ones; returns the unsubscribe function. */
  subscribe(run: Run, afterSeq: number, listener: Listener): () => void {
    for (const e of run.events) if (e.seq > afterSeq) listener(e);
    if (isTerminal(run.status)) {
      listener(null);
      return () => {};
    }
    run.listeners.add(listener);
    return () => run.listeners.delete(listener);
  }

  /**
   * Server shutdown: abort every running run (each ends `failed`, code `shutdown`), then wait, at most
   * `timeoutMs`, until their last events are in the store, and only then let go of the presence lease. The
   * store is closed right after the server: a run whose end never reached it would read as running until
   * its replica's lease lapsed, and then as `replica_lost`.
   */
  async close(timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
    for (const run of this.#runs.values()) {
      if (isTerminal(run.status) || run.status === "cancelling") continue;
      this.#shutDown.add(run);
      this.stop(run);
    }
    const deadline = Date.now() + timeoutMs;
    await within(Promise.allSettled([...this.#executing]), timeoutMs);
    const shared = this.#shared;
    if (!shared) return;
    await within(shared.journal.flush(), Math.max(0, deadline - Date.now()));
    shared.watch.close();
    shared.remote.close();
    if (shared.ownReplica) await shared.replica.close().catch(() => {});
  }

  async #execute(run: Run, begin: (signal: AbortSignal) => Promise<TurnHandle>): Promise<void> {
    try {
      const handle = await begin(run.controller.signal);
      run.handle = handle;
      if (run.controller.signal.aborted) handle.abort("stopped");
      for await (const event of handle.events) this.#onAgentEvent(run, event);
      if (!isTerminal(run.status)) this.#finish(run, run.status === "cancelling" ? "cancelled" : "completed");
    } catch (cause) {
      this.#logger?.error({ err: cause, agent: run.agentId, run: run.id }, "api: run failed");
      if (!isTerminal(run.status)) {
        run.error = { message: (cause as Error)?.message ?? String(cause), code: "agent_error" };
        this.#finish(run, run.status === "cancelling" ? "cancelled" : "failed");
      }
    }
  }

  #onAgentEvent(run: Run, e: AgentEvent): void {
    if (isTerminal(run.status)) return;
    switch (e.type) {
      case "text-delta":
        run.output += e.text;
        if (e.text) this.#emit(run, "message.delta", { delta: e.text });
        return;
      case "tool-call":
        this.#emit(run, "tool.started", { tool: e.toolName, tool_call_id: e.toolCallId, input: e.input });
        return;
      case "tool-result":
        this.#emit(run, "tool.completed", {
          tool: e.toolName,
          tool_call_id: e.toolCallId,
          error: e.isError === true,
        });
        return;
      case "approval":
        if (e.status === "required") {
          run.pendingApprovals.push({ id: e.approvalId, tool: e.toolName });
          this.#emit(run, "approval.required", {
            approval_id: e.approvalId,
            tool: e.toolName,
            input: e.input,
          });
          return;
        }
        removeApproval(run, e.approvalId);
        this.#emit(run, "approval.resolved", {
          approval_id: e.approvalId || null,
          tool: e.toolName,
          approved: e.status === "approved",
          by: e.by ?? null,
          ...(e.reason ? { reason: e.reason } : {}),
        });
        return;
      case "finish":
        if (e.text) run.output = e.text;
        run.usage = e.usage;
        this.#finish(run, run.status === "cancelling" ? "cancelled" : "completed");
        return;
      case "error":
        run.error = { message: e.message, code: e.code ?? null };
        this.#finish(run, run.status === "cancelling" ? "cancelled" : "failed");
        return;
    }
  }

  #release(run: Run): void {
    this.#active--;
    const left = (this.#activeBy.get(run.owner) ?? 1) - 1;
    if (left > 0) this.#activeBy.set(run.owner, left);
    else this.#activeBy.delete(run.owner);
  }

  #finish(run: Run, outcome: "completed" | "failed" | "cancelled"): void {
    let status = outcome;
    if (status === "cancelled" && this.#shutDown.has(run)) {
      status = "failed";
      run.error = {
        message: "The gateway shut down before the run finished; start it again.",
        code: "shutdown",
      };
    }
    run.status = status;
    run.completedAt = nowSeconds();
    this.#release(run);
    if (status === "completed") {
      this.#emit(run, "run.completed", { output: run.output, usage: usageOf(run.usage) });
    } else if (status === "failed") {
      this.#emit(run, "run.failed", { error: run.error, output: run.output });
    } else {
      this.#emit(run, "run.cancelled", { output: run.output });
    }
    for (const l of run.listeners) l(null);
    run.listeners.clear();
  }

  #emit(run: Run, event: string, fields: Record<string, unknown>): void {
    const seq = run.nextSeq++;
    const e: RunEvent = {
      seq,
      event,
      data: { event, run_id: run.id, seq, timestamp: Date.now() / 1000, ...fields },
    };
    if (run.events.length < this.#maxEvents || event !== "message.delta") {
      run.events.push(e);
      this.#shared?.journal.record(run, e);
    } else run.truncated = true;
    for (const l of run.listeners) l(e);
  }

  /** Drop finished runs past their retention, and the oldest finished ones past the cap. */
  #sweep(): void {
    const cutoff = nowSeconds() - this.#retentionMs / 1000;
    let finished = 0;
    for (const run of this.#runs.values()) if (isTerminal(run.status)) finished++;
    for (const [id, run] of this.#runs) {
      if (!isTerminal(run.status)) continue;
      if (finished > this.#maxRetained || (run.completedAt ?? 0) < cutoff) {
        this.#runs.delete(id);
        finished--;
      }
    }
  }
}

function removeApproval(run: Run, id: string): void {
  const i = run.pendingApprovals.findIndex((a) => a.id === id);
  if (i >= 0) run.pendingApprovals.splice(i, 1);
}

/** How long `close` waits for the runs' last events to be stored. */
const CLOSE_TIMEOUT_MS = 5000;

/** `p`, or nothing once `ms` have passed. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => {}),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
