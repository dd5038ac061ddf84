import type { Hono } from "hono";
import { z } from "zod";

import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { ApiError, modelNotFound } from "../errors.ts";
import { jsonResponse, readJson } from "../http.ts";
import { agentIdOfModel, usableAgent, usableAgents } from "../select.ts";
import { methods } from "./methods.ts";

const createJobSchema = z.strictObject({
  /** The owning agent (`<id>` or `switchboard/<id>`); default the pinned agent, else the default agent. */
  agent: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  schedule: z.string().min(1),
  prompt: z.string().min(1),
  name: z.string().min(1).optional(),
  deliver: z.string().min(1).optional(),
  timezone: z.string().min(1).optional(),
  repeat: z.number().int().positive().optional(),
});

function cronOf(ctx: ApiContext) {
  const cron = ctx.gateway.cron;
  if (!cron)
    throw new ApiError(503, "Cron is not running in this gateway (cron.enabled: false).", {
      code: "cron_disabled",
    });
  return cron;
}

function withAgent(agentId: string, job: unknown): Record<string, unknown> {
  return { object: "cron.job", agent: agentId, ...(job as Record<string, unknown>) };
}

/** `GET/POST /v1/cron/jobs`, `DELETE /v1/cron/jobs/{id}`: jobs of the agents the key may use. */
export function registerCronRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/cron/jobs", {
    GET: async (c: ApiHonoContext) => {
      const cron = cronOf(ctx);
      const only = c.req.query("agent");
      const data: Record<string, unknown>[] = [];
      for (const a of usableAgents(ctx, c.get("principal"), c.get("pinned"))) {
        if (only && a.id !== agentIdOfModel(only)) continue;
        for (const job of await cron.list(a.id)) data.push(withAgent(a.id, job));
      }
      return jsonResponse({ object: "list", data });
    },
    POST: async (c: ApiHonoContext) => {
      const cron = cronOf(ctx);
      const body = await readJson(c.req.raw, ctx.settings().max_body_bytes, createJobSchema);
      const requested = body.agent ?? body.model;
      const pinned = c.get("pinned");
      const agent =
        pinned ?? (requested ? usableAgent(ctx, c.get("principal"), agentIdOfModel(requested)) : undefined);
      const fallback = ctx.gateway.config.default_agent;
      const owner = agent ?? (!requested ? usableAgent(ctx, c.get("principal"), fallback) : undefined);
      if (!owner) throw modelNotFound(requested ?? fallback);
      try {
        const job = await cron.create(owner.id, {
          schedule: body.schedule,
          prompt: body.prompt,
          ...(body.name ? { name: body.name } : {}),
          deliver: body.deliver ?? "local",
          ...(body.timezone ? { timezone: body.timezone } : {}),
          ...(body.repeat ? { repeat: body.repeat } : {}),
        });
        return jsonResponse(withAgent(owner.id, job), 201);
      } catch (err) {
        throw new ApiError(400, (err as Error).message, {
          code: "invalid_cron_job",
          param: null,
          cause: err,
        });
      }
    },
  });
  methods(v1, "/cron/jobs/:id", {
    DELETE: async (c: ApiHonoContext) => {
      const cron = cronOf(ctx);
      const id = c.req.param("id") ?? "";
      for (const a of usableAgents(ctx, c.get("principal"), c.get("pinned"))) {
        if (await cron.remove(a.id, id))
          return jsonResponse({ object: "cron.job.deleted", id, agent: a.id, deleted: true });
      }
      throw new ApiError(404, `No cron job "${id}" among the agents this key may use.`, {
        type: "not_found_error",
        code: "job_not_found",
      });
    },
  });
}
