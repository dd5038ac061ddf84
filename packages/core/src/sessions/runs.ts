/** The states of an asynchronous API run (`POST /v1/runs`); the last three are terminal. */
export type StoredRunStatus = "running" | "cancelling" | "completed" | "failed" | "cancelled";

export const TERMINAL_RUN_STATUSES: readonly StoredRunStatus[] = ["completed", "failed", "cancelled"];

/** The terminal statuses as an SQL list, for `status IN …` in either SQL store. */
export const TERMINAL_SQL = `(${TERMINAL_RUN_STATUSES.map((s) => `'${s}'`).join(", ")})`;

/** One event of a run, as `GET /v1/runs/{id}/events` replays it: `data` is the SSE frame's JSON. */
export interface StoredRunEvent {
  seq: number;
  event: string;
  data: Record<string, unknown>;
}

/** What changes while a run executes; written by the replica executing it. */
export interface RunState {
  status: StoredRunStatus;
  /** Epoch ms. */
  completedAt: number | null;
  output: string;
  usage: { inputTokens: number; outputTokens: number } | null;
  error: { message: string; code: string | null } | null;
  /** Tool calls waiting for `POST /v1/runs/{id}/approve|deny`, oldest first. */
  pendingApprovals: Array<{ id: string; tool: string }>;
}

/** A row of `runs`, readable from every replica on the store. Times are epoch ms. */
export interface StoredRun extends RunState {
  id: string;
  /** The identity of the key that started it; no other key can see or stop it. */
  owner: string;
  agentId: string;
  /** The caller-visible session id. */
  sessionId: string;
  createdAt: number;
  /** The replica executing it (its liveness is the `replica:<id>` lease). */
  replicaId: string;
  /** `POST /v1/runs/{id}/stop` was asked on some replica; the executing one stops it. */
  stopRequested: boolean;
  /** The highest stored event `seq` (-1 without events). */
  lastSeq: number;
}

/** An answer to one of a run's tool calls waiting for approval, given on any replica for the executing one. */
export interface RunAnswer {
  runId: string;
  approvalId: string;
  approved: boolean;
  /** Who answered (`api:<key identity>`). */
  by: string;
  reason?: string;
}

/** How long and how many finished runs stay readable; older ones and their events are pruned. */
export interface RunRetention {
  maxAgeMs: number;
  maxCount: number;
}

/**
 * Runs and their events (tables `runs`, `run_events`): the executing replica writes them, every replica reads
 * them, so a run is readable, followable and stoppable through any replica.
 */
export interface RunTable {
  /** Store a new run with its first events, first pruning finished runs past `retention`. */
  create(
    run: Omit<StoredRun, "stopRequested" | "lastSeq">,
    events: readonly StoredRunEvent[],
    retention: RunRetention,
  ): Promise<void>;
  /**
   * Write the run's state and append `events`, in one commit, while the stored run is not terminal. False (and
   * nothing written) once it is: a run another replica already failed is not brought back.
   */
  update(id: string, state: RunState, events: readonly StoredRunEvent[]): Promise<boolean>;
  get(id: string): Promise<StoredRun | undefined>;
  /** The run's events after `afterSeq`, in order, at most `limit` (default 1000). */
  events(id: string, afterSeq: number, limit?: number): Promise<StoredRunEvent[]>;
  /** Flag a run that is not terminal for stopping. True when it was flagged (now or before). */
  requestStop(id: string): Promise<boolean>;
  /** Which of `ids` have a stop requested and are not terminal (the executing replica's check). */
  stopRequested(ids: readonly string[]): Promise<string[]>;
  /** Every run that is not terminal, with the replica executing it (the sweep for runs of dead replicas). */
  unfinished(): Promise<Array<{ id: string; replicaId: string }>>;
  /** The runs of `owner` that are not terminal, with their replica (admission across replicas). */
  activeOf(owner: string): Promise<Array<{ id: string; replicaId: string }>>;
  /**
   * Record an answer to a waiting tool call of a run that is not terminal, for the executing replica to apply.
   * False when the call was answered this way before (or the run is over).
   */
  answer(answer: RunAnswer): Promise<boolean>;
  /** The answers to runs of `ids` that the executing replica has not taken yet, oldest first. */
  answers(ids: readonly string[]): Promise<RunAnswer[]>;
  /** Mark an answer taken (applied by the executing replica). */
  takeAnswer(runId: string, approvalId: string): Promise<void>;
  /**
   * Be told the id of each run written on any replica (PostgreSQL: LISTEN/NOTIFY), so followers wake at once
   * rather than at their next poll. Optional: without it, readers poll. Returns the unsubscribe function.
   */
  listen?(onChange: (runId: string) => void): () => void;
}

/** A `runs` row as both SQL stores select it (SQLite has 0/1 for booleans, PostgreSQL true/false). */
export interface RunRow {
  id: string;
  owner: string;
  agentId: string;
  sessionId: string;
  status: StoredRun["status"];
  createdAt: number;
  completedAt: number | null;
  output: string;
  usage: string | null;
  error: string | null;
  pendingApprovals: string;
  replicaId: string;
  stopRequested: number | boolean;
  lastSeq: number | null;
}

export function runFromRow(row: RunRow): StoredRun {
  return {
    id: row.id,
    owner: row.owner,
    agentId: row.agentId,
    sessionId: row.sessionId,
    status: row.status,
    createdAt: row.createdAt,
    completedAt: row.completedAt ?? null,
    output: row.output,
    usage: row.usage ? (JSON.parse(row.usage) as StoredRun["usage"]) : null,
    error: row.error ? (JSON.parse(row.error) as StoredRun["error"]) : null,
    pendingApprovals: JSON.parse(row.pendingApprovals) as StoredRun["pendingApprovals"],
    replicaId: row.replicaId,
    stopRequested: row.stopRequested === true || row.stopRequested === 1,
    lastSeq: row.lastSeq ?? -1,
  };
}

export function answerFromRow(
  r: Omit<RunAnswer, "approved" | "reason"> & { approved: number | boolean; reason: string | null },
): RunAnswer {
  return {
    runId: r.runId,
    approvalId: r.approvalId,
    approved: r.approved === true || r.approved === 1,
    by: r.by,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

/** The columns `update` writes, in its parameter order after `id`. */
export function stateParams(state: RunState, now: number): unknown[] {
  return [
    state.status,
    now,
    state.completedAt,
    state.output,
    state.usage ? JSON.stringify(state.usage) : null,
    state.error ? JSON.stringify(state.error) : null,
    JSON.stringify(state.pendingApprovals),
  ];
}
