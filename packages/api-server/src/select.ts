import type { AgentProfile, SessionSource } from "@switchboard/core";
import { mayUse, type Principal } from "./auth.ts";
import type { ApiContext, ApiHonoContext } from "./context.ts";
import { modelNotFound } from "./errors.ts";
import { sourceOfRequest } from "./identity.ts";

const MODEL_PREFIX = "switchboard/";
/** `<agent>:plain`: agent ids never contain `:`, so the suffix cannot be part of one. */
export const PLAIN_SUFFIX = ":plain";

export interface Selection {
  agent: AgentProfile;
  /** The synthetic `api_server` source of this request (routing headers), with `agentId` set. */
  source: SessionSource;
  by: "path" | "model" | "previous" | "route" | "hook" | "default";
  /** The `<agent>:plain` model was asked for (only when `api_server.plain_models`). */
  plain?: boolean;
}

/** `<id>` or `switchboard/<id>` → the agent id it names. */
export function agentIdOfModel(model: string): string {
  return model.startsWith(MODEL_PREFIX) ? model.slice(MODEL_PREFIX.length) : model;
}

/** An agent that exists and that the caller may use; `undefined` for both "no such agent" and "not yours". */
export function usableAgent(ctx: ApiContext, principal: Principal, id: string): AgentProfile | undefined {
  const agent = ctx.gateway.agent(id);
  return agent && mayUse(principal, agent.id) ? agent : undefined;
}

/**
 * Whether the caller may see something stored for `agentId` (a run, a stored response, a cron job): its key
 * may use the agent, now (an agent taken off the key takes its objects along), and under `/agents/{id}` only
 * that agent's. Whatever fails this answers exactly like something that does not exist.
 */
export function seesAgent(c: ApiHonoContext, agentId: string): boolean {
  const pinned = c.get("pinned");
  return mayUse(c.get("principal"), agentId) && (!pinned || pinned.id === agentId);
}

/** The agents a caller may use: only the pinned one under `/agents/{id}`, else every agent its key may use. */
export function usableAgents(
  ctx: ApiContext,
  principal: Principal,
  pinned: AgentProfile | undefined,
): AgentProfile[] {
  if (pinned) return [pinned];
  return ctx.gateway.config.registry.list().filter((a) => mayUse(principal, a.id));
}

/** The routing headers as a source (see `sourceOfRequest`). */
export function sourceOfHeaders(headers: Headers): SessionSource {
  return sourceOfRequest(headers);
}

/**
 * Pick the agent of a request, first that applies: the `/agents/{id}` prefix; a `model` naming an agent the
 * key may use; the agent of the previous response being continued; the router over the routing headers
 * (routes with `platform: api_server`, plugin hooks, then the default agent). A `model` naming no usable
 * agent falls through — unless `strict_models` — and a disallowed agent behaves exactly like a missing one.
 */
export async function selectAgent(
  ctx: ApiContext,
  c: ApiHonoContext,
  options: {
    model?: string | undefined;
    previousAgent?: string | undefined;
    /** The body's `user` field. */
    user?: string | null | undefined;
  } = {},
): Promise<Selection> {
  const principal = c.get("principal");
  const source = sourceOfRequest(c.req.raw.headers, options.user);
  const pick = (agent: AgentProfile, by: Selection["by"]): Selection => {
    source.agentId = agent.id;
    return { agent, source, by };
  };

  const plainAsked = ctx.settings().plain_models && options.model?.trim().endsWith(PLAIN_SUFFIX) === true;
  const pinned = c.get("pinned");
  if (pinned) {
    const plain = plainAsked && agentIdOfModel(options.model!.trim()) === `${pinned.id}${PLAIN_SUFFIX}`;
    return { ...pick(pinned, "path"), ...(plain ? { plain: true } : {}) };
  }

  const model = options.model?.trim();
  if (model && plainAsked) {
    const agent = usableAgent(ctx, principal, agentIdOfModel(model.slice(0, -PLAIN_SUFFIX.length)));
    if (!agent) throw modelNotFound(model);
    return { ...pick(agent, "model"), plain: true };
  }
  if (model) {
    const agent = usableAgent(ctx, principal, agentIdOfModel(model));
    if (agent) return pick(agent, "model");
    if (ctx.settings().strict_models) throw modelNotFound(model);
  }
  if (options.previousAgent) {
    const agent = usableAgent(ctx, principal, options.previousAgent);
    if (agent) return pick(agent, "previous");
  }
  const resolution = await ctx.gateway.router.resolve(source);
  const agent = usableAgent(ctx, principal, resolution.agentId);
  if (!agent) throw modelNotFound(model);
  return pick(agent, resolution.by === "route" ? "route" : resolution.by === "hook" ? "hook" : "default");
}
