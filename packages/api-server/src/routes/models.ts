import type { AgentProfile } from "@switchboard/core";
import type { Hono } from "hono";
import { mayUse, type Principal } from "../auth.ts";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { modelNotFound } from "../errors.ts";
import { jsonResponse } from "../http.ts";
import { agentIdOfModel } from "../select.ts";
import { methods } from "./methods.ts";

/** The agents a caller sees as models: those its key may use, filtered by `api_server.models`; only the pinned one under `/agents/{id}`. */
function visibleAgents(
  ctx: ApiContext,
  principal: Principal,
  pinned: AgentProfile | undefined,
): AgentProfile[] {
  if (pinned) return [pinned];
  const mode = ctx.settings().models;
  if (mode === "none") return [];
  return ctx.gateway.config.registry
    .list()
    .filter((a) => mayUse(principal, a.id) && (mode === "all" || a.expose));
}

function modelObject(ctx: ApiContext, agent: AgentProfile) {
  return {
    id: agent.id,
    object: "model",
    created: Math.floor(ctx.startedAt / 1000),
    owned_by: "switchboard",
    name: agent.name,
    ...(agent.description ? { description: agent.description } : {}),
  };
}

/** `GET /v1/models`, `GET /v1/models/{id}`: agents as models. */
export function registerModelRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  const list = (c: ApiHonoContext) => visibleAgents(ctx, c.get("principal"), c.get("pinned"));
  methods(v1, "/models", {
    GET: (c) => jsonResponse({ object: "list", data: list(c).map((a) => modelObject(ctx, a)) }),
  });
  methods(v1, "/models/:id{.+}", {
    GET: (c) => {
      const requested = c.req.param("id") ?? "";
      const id = agentIdOfModel(requested);
      const agent = list(c).find((a) => a.id === id);
      if (!agent) throw modelNotFound(requested);
      return jsonResponse(modelObject(ctx, agent));
    },
  });
}
