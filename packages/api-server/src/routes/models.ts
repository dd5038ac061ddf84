import type { AgentProfile } from "@switchboard/core";
import type { Hono } from "hono";
import type { Principal } from "../auth.ts";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { modelNotFound } from "../errors.ts";
import { jsonResponse } from "../http.ts";
import { agentIdOfModel, PLAIN_SUFFIX, usableAgents } from "../select.ts";
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
  return usableAgents(ctx, principal, undefined).filter((a) => mode === "all" || a.expose);
}

function modelObject(ctx: ApiContext, agent: AgentProfile, plain = false) {
  return {
    id: plain ? `${agent.id}${PLAIN_SUFFIX}` : agent.id,
    object: "model",
    created: Math.floor(ctx.startedAt / 1000),
    owned_by: "switchboard",
    name: plain ? `${agent.name} (plain model)` : agent.name,
    ...(plain
      ? {
          description: `${agent.id}'s model without persona, tools or history: for titles, tags and other background tasks.`,
        }
      : agent.description
        ? { description: agent.description }
        : {}),
  };
}

/** Each agent, followed by its plain variant when `api_server.plain_models` is on. */
function modelObjects(ctx: ApiContext, agents: AgentProfile[]) {
  const plain = ctx.settings().plain_models;
  return agents.flatMap((a) =>
    plain ? [modelObject(ctx, a), modelObject(ctx, a, true)] : [modelObject(ctx, a)],
  );
}

/** `GET /v1/models`, `GET /v1/models/{id}`: agents as models. */
export function registerModelRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  const list = (c: ApiHonoContext) => visibleAgents(ctx, c.get("principal"), c.get("pinned"));
  methods(v1, "/models", {
    GET: (c) => jsonResponse({ object: "list", data: modelObjects(ctx, list(c)) }),
  });
  methods(v1, "/models/:id{.+}", {
    GET: (c) => {
      const requested = c.req.param("id") ?? "";
      const found = modelObjects(ctx, list(c)).find((m) => m.id === agentIdOfModel(requested));
      if (!found) throw modelNotFound(requested);
      return jsonResponse(found);
    },
  });
}
