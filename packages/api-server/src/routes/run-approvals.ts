import type { StoredRun } from "@switchboard/core";
import type { Hono } from "hono";
import { z } from "zod";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { runObject, storedRunObject } from "../run-view.ts";
import type { Run } from "../runs.ts";
import { methods } from "./methods.ts";

const answerSchema = z
  .strictObject({
    /** Which pending call; default the oldest of the run. */
    approval_id: z.string().min(1).optional(),
    reason: z.string().max(500).optional(),
  })
  .default({});

/** How long an answer to a run executing on another replica waits for that replica to apply it. */
const REMOTE_ANSWER_TIMEOUT_MS = 10_000;

const alreadyAnswered = (id: string) =>
  new ApiError(409, `The approval '${id}' was already answered or timed out.`, {
    code: "no_pending_approval",
    param: "approval_id",
  });

/**
 * `POST /v1/runs/{id}/approve` and `/deny`: answer a tool call of the run that waits for approval
 * (announced by its `approval.required` event). Only the key that started the run can answer. On a replica
 * that does not execute the run, the answer goes through the store to the one that does.
 */
export function registerRunApprovalRoutes(
  v1: Hono<ApiEnv>,
  ctx: ApiContext,
  find: (c: ApiHonoContext) => Promise<{ local: Run } | { stored: StoredRun }>,
): void {
  const answer = (approved: boolean) => async (c: ApiHonoContext) => {
    const found = await find(c);
    const raw = c.req.raw;
    const hasBody =
      (raw.headers.get("content-length") ?? "0") !== "0" || raw.headers.has("transfer-encoding");
    const body = hasBody ? await readJson(raw, ctx.settings().max_body_bytes, answerSchema) : {};
    const run = "local" in found ? found.local : found.stored;
    const pending = body.approval_id
      ? run.pendingApprovals.find((a) => a.id === body.approval_id)
      : run.pendingApprovals[0];
    if (!pending) {
      throw new ApiError(
        409,
        body.approval_id
          ? `Run '${run.id}' has no tool call '${body.approval_id}' waiting for approval.`
          : `Run '${run.id}' has no tool call waiting for approval; wait for its approval.required event.`,
        { code: "no_pending_approval", param: body.approval_id ? "approval_id" : null },
      );
    }
    const decision = {
      approved,
      by: `api:${c.get("principal").id}`,
      ...(!approved && body.reason ? { reason: body.reason } : {}),
    };
    let view: Record<string, unknown>;
    if ("local" in found) {
      if (!ctx.gateway.approvals.resolve(pending.id, decision)) throw alreadyAnswered(pending.id);
      view = runObject(found.local);
    } else {
      const outcome = await ctx.runs.answerStored(
        found.stored,
        { runId: run.id, approvalId: pending.id, ...decision },
        REMOTE_ANSWER_TIMEOUT_MS,
      );
      if (outcome === "refused") throw alreadyAnswered(pending.id);
      if (outcome === "timeout") {
        throw new ApiError(
          503,
          `The replica executing run '${run.id}' did not take the answer within ${REMOTE_ANSWER_TIMEOUT_MS / 1000} s; read the run's events to see whether it applied it.`,
          { type: "server_error", code: "run_replica_unresponsive", param: null },
        );
      }
      const now = await ctx.runs.find(run.id, c.get("principal").id);
      view = now && "stored" in now ? storedRunObject(now.stored) : storedRunObject(found.stored);
    }
    return jsonResponse(
      { ...view, approval: { approval_id: pending.id, tool: pending.tool, approved } },
      200,
      turnHeaders(run.agentId, run.sessionId),
    );
  };
  methods(v1, "/runs/:id/approve", { POST: answer(true) });
  methods(v1, "/runs/:id/deny", { POST: answer(false) });
}
