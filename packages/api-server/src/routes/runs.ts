import type { StoredRun } from "@switchboard/core";
import type { Hono } from "hono";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { fromInput } from "../convert.ts";
import { ApiError } from "../errors.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { newId } from "../ids.ts";
import { inlineImages } from "../images.ts";
import { runObject, storedRunObject } from "../run-view.ts";
import type { Run, RunEvent } from "../runs.ts";
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
      const run = await ctx.runs.start({
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
        resolveApproval: (id, decision) => ctx.gateway.approvals.resolve(id, decision),
      });
      return jsonResponse(runObject(run), 202, turnHeaders(agent.id, plan.publicId));
    },
  });

  const notFound = (id: string) =>
    new ApiError(404, `Run '${id}' not found.`, { code: "run_not_found", param: null });
  /** A run executing here, or one another replica executes (read from the store). */
  const find = async (c: ApiHonoContext): Promise<{ local: Run } | { stored: StoredRun }> => {
    const id = c.req.param("id")!;
    const found = await ctx.runs.find(id, c.get("principal").id);
    // The allowlist is read now, not when the run started: a key that lost the agent loses its runs too.
    const agentId = found && ("local" in found ? found.local.agentId : found.stored.agentId);
    if (!found || !seesAgent(c, agentId!)) throw notFound(id);
    return found;
  };
  const view = (found: { local: Run } | { stored: StoredRun }) =>
    "local" in found
      ? { body: runObject(found.local), agentId: found.local.agentId, sessionId: found.local.sessionId }
      : {
          body: storedRunObject(found.stored),
          agentId: found.stored.agentId,
          sessionId: found.stored.sessionId,
        };

  methods(v1, "/runs/:id", {
    GET: async (c) => {
      const v = view(await find(c));
      return jsonResponse(v.body, 200, turnHeaders(v.agentId, v.sessionId));
    },
  });

  methods(v1, "/runs/:id/stop", {
    POST: async (c) => {
      const found = await find(c);
      if ("local" in found) ctx.runs.stop(found.local);
      // Executing elsewhere: flagged in the store; that replica aborts the turn at its next poll.
      const v = view("local" in found ? found : { stored: await ctx.runs.stopStored(found.stored) });
      return jsonResponse(v.body, 200, turnHeaders(v.agentId, v.sessionId));
    },
  });

  registerRunApprovalRoutes(v1, ctx, find);

  methods(v1, "/runs/:id/events", {
    GET: async (c) => {
      const found = await find(c);
      // An SSE client reconnecting sends the last id it saw; replay resumes after it.
      const lastId = Number(c.req.header("last-event-id") ?? Number.NaN);
      const after = Number.isInteger(lastId) ? lastId : -1;
      let unsubscribe: () => void = () => {};
      const left = new AbortController();
      const stream = sseStream(
        (write) => {
          if ("stored" in found) {
            // Executing on another replica: replayed from the store, then followed there until it ends.
            return ctx.runs.follow(found.stored.id, after, (e) => write(runFrame(e)), left.signal);
          }
          return new Promise<void>((resolve) => {
            unsubscribe = ctx.runs.subscribe(found.local, after, (e) => {
              if (e) write(runFrame(e));
              else resolve();
            });
          });
        },
        // Leaving the event stream only stops listening; the run keeps going.
        {
          onCancel: () => {
            unsubscribe();
            left.abort();
          },
        },
      );
      const v = view(found);
      return new Response(stream, {
        status: 200,
        headers: { ...SSE_HEADERS, ...turnHeaders(v.agentId, v.sessionId) },
      });
    },
  });
}
