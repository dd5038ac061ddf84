import type { StoredRun, Usage } from "@switchboard/core";
import { TERMINAL_RUN_STATUSES } from "@switchboard/core";
import type { Run } from "./runs.ts";

/** A run's token usage as the API shows it. */
export function usageOf(
  u: Pick<Usage, "inputTokens" | "outputTokens"> | null,
): Record<string, number> | null {
  return u
    ? {
        input_tokens: u.inputTokens,
        output_tokens: u.outputTokens,
        total_tokens: u.inputTokens + u.outputTokens,
      }
    : null;
}

/** What the public view of a run shows, from a run executing here or one another process stored. */
type RunView = Pick<
  Run,
  | "id"
  | "status"
  | "agentId"
  | "sessionId"
  | "createdAt"
  | "completedAt"
  | "output"
  | "error"
  | "pendingApprovals"
> & { usage: Pick<Usage, "inputTokens" | "outputTokens"> | null };

/** The public view of a run (`GET /v1/runs/{id}`). */
export function runObject(run: RunView): Record<string, unknown> {
  return {
    id: run.id,
    object: "run",
    run_id: run.id,
    status: run.status,
    agent: run.agentId,
    model: run.agentId,
    session_id: run.sessionId,
    created_at: run.createdAt,
    completed_at: run.completedAt,
    output: run.output,
    usage: usageOf(run.usage),
    error: run.error,
    pending_approvals: run.pendingApprovals.map((a) => ({ approval_id: a.id, tool: a.tool })),
  };
}

/** The public view of a run another process executes, as stored (a stop asked shows as `cancelling`). */
export function storedRunObject(run: StoredRun): Record<string, unknown> {
  return runObject({
    ...run,
    status: run.stopRequested && !TERMINAL_RUN_STATUSES.includes(run.status) ? "cancelling" : run.status,
    createdAt: Math.floor(run.createdAt / 1000),
    completedAt: run.completedAt === null ? null : Math.floor(run.completedAt / 1000),
  });
}
