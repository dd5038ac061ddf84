import type { Hono } from "hono";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { fromInput } from "../convert.ts";
import { ApiError } from "../errors.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { newId } from "../ids.ts";
import { inlineImages } from "../images.ts";
import { type Run, type RunEvent, runObject } from "../runs.ts";
import { runRequestSchema } from "../schemas.ts";
import { seesAgent, selectAgent } from "../select.ts";
import { planSession } from "../session.ts";
import { SSE_HEADERS, sseFrame, sseStream } from "../sse.ts";
import { checkBudget, startTurn } from "../turn.ts";
import { methods } from "./methods.ts";
import { registerRunApprovalRoutes } from "./run-approvals.ts";

const runFrame = (e: RunEvent) => sseFrame(JSON.stringify(e.data), e.event, e.seq);

/** `POST /v1/runs`, `GET /v1/runs/{id}`, `GET /v1/runs/{id}/events` (SSE replay + live), `POST /v1/runs/{id}/stop`. */
export function registerRunRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/runs", {
    POST: async (c) => {
      const body = await readJson(c.req.raw, ctx.settings().max_body_bytes, runRequestSchema);
      const conv = fromInput(body.input, body.instructions);
      const { agent, source } = await selectAgent(ctx, c, { model: body.model, user: body.user });
      // A run answers 202 before its turn starts: a used-up budget is refused here, with its 429.
      await checkBudget(ctx, c.get("principal"), agent.id, source);
      await inlineImages(conv, ctx.settings());
      const { plan, given: sessionGiven } = planSession(c, agent.id, {
        bodyId: body.session_id,
        fallback: () => newId("api-", 16),
      });
      const run = ctx.runs.start({
        owner: c.get("principal").id,
        agentId: agent.id,
        sessionId: plan.publicId,
        // A run outlives its request: only `stop` (or shutdown) aborts it, never the POST's connection.
        begin: (signal) =>
          startTurn(ctx, {
            principal: c.get("principal"),
            agentId: agent.id,
            source,
            plan,
            history: sessionGiven ? undefined : conv.history,
            input: conv.input,
            extraSystem: conv.extraSystem,
            signal,
            // Someone follows a run's events: tool calls needing approval wait for /approve or /deny.
            approvals: "wait",
          }),
      });
      return jsonResponse(runObject(run), 202, turnHeaders(agent.id, plan.publicId));
    },
  });

  const lookup = (c: ApiHonoContext): Run => {
    const id = c.req.param("id")!;
    const run = ctx.runs.get(id, c.get("principal").id);
    // The allowlist is read now, not when the run started: a key that lost the agent loses its runs too.
    if (!run || !seesAgent(c, run.agentId)) {
      throw new ApiError(404, `Run '${id}' not found.`, { code: "run_not_found", param: null });
    }
    return run;
  };

  methods(v1, "/runs/:id", {
    GET: (c) => {
      const run = lookup(c);
      return jsonResponse(runObject(run), 200, turnHeaders(run.agentId, run.sessionId));
    },
  });

  methods(v1, "/runs/:id/stop", {
    POST: (c) => {
      const run = lookup(c);
      ctx.runs.stop(run);
      return jsonResponse(runObject(run), 200, turnHeaders(run.agentId, run.sessionId));
    },
  });

  registerRunApprovalRoutes(v1, ctx, lookup);

  methods(v1, "/runs/:id/events", {
    GET: (c) => {
      const run = lookup(c);
      // An SSE client reconnecting sends the last id it saw; replay resumes after it.
      const lastId = Number(c.req.header("last-event-id") ?? Number.NaN);
      const after = Number.isInteger(lastId) ? lastId : -1;
      let unsubscribe: () => void = () => {};
      const stream = sseStream(
        (write) =>
          new Promise<void>((resolve) => {
            unsubscribe = ctx.runs.subscribe(run, after, (e) => {
              if (e) write(runFrame(e));
              else resolve();
            });
          }),
        // Leaving the event stream only stops listening; the run keeps going.
        { onCancel: () => unsubscribe() },
      );
      return new Response(stream, {
        status: 200,
        headers: { ...SSE_HEADERS, ...turnHeaders(run.agentId, run.sessionId) },
      });
    },
  });
}
