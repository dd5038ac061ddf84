import type { Hono } from "hono";
import { z } from "zod";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { type Run, runObject } from "../runs.ts";
import { methods } from "./methods.ts";

const answerSchema = z
  .strictObject({
    /** Which pending call; default the oldest of the run. */
    approval_id: z.string().min(1).optional(),
    reason: z.string().max(500).optional(),
  })
  .default({});

/**
 * `POST /v1/runs/{id}/approve` and `/deny`: answer a tool call of the run that waits for approval
 * (announced by its `approval.required` event). Only the key that started the run can answer.
 */
export function registerRunApprovalRoutes(
  v1: Hono<ApiEnv>,
  ctx: ApiContext,
  lookup: (c: ApiHonoContext) => Promise<Run>,
): void {
  const answer = (approved: boolean) => async (c: ApiHonoContext) => {
    const run = await lookup(c);
    const raw = c.req.raw;
    const hasBody =
      (raw.headers.get("content-length") ?? "0") !== "0" || raw.headers.has("transfer-encoding");
    const body = hasBody ? await readJson(raw, ctx.settings().max_body_bytes, answerSchema) : {};
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
    const settled = ctx.gateway.approvals.resolve(pending.id, {
      approved,
      by: `api:${c.get("principal").id}`,
      ...(!approved && body.reason ? { reason: body.reason } : {}),
    });
    if (!settled)
      throw new ApiError(409, `The approval '${pending.id}' was already answered or timed out.`, {
        code: "no_pending_approval",
        param: "approval_id",
      });
    return jsonResponse(
      { ...runObject(run), approval: { approval_id: pending.id, tool: pending.tool, approved } },
      200,
      turnHeaders(run.agentId, run.sessionId),
    );
  };
  methods(v1, "/runs/:id/approve", { POST: answer(true) });
  methods(v1, "/runs/:id/deny", { POST: answer(false) });
}
