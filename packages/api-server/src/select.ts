import type { AgentProfile, ChatType, SessionSource } from "@switchboard/core";
import { mayUse, type Principal } from "./auth.ts";
import type { ApiContext, ApiHonoContext } from "./context.ts";
import { modelNotFound } from "./errors.ts";
import { HEADER, headerValue } from "./http.ts";

const MODEL_PREFIX = "switchboard/";

export interface Selection {
  agent: AgentProfile;
  /** The synthetic `api_server` source of this request (routing headers), with `agentId` set. */
  source: SessionSource;
  by: "path" | "model" | "previous" | "route" | "hook" | "default";
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
 * The routing headers as a source: a thread when a thread id is given, a group when a chat has a distinct
 * user in it (so `group_per_user` keys apply), otherwise a DM.
 */
export function sourceOfHeaders(headers: Headers): SessionSource {
  const chatId = headerValue(headers, HEADER.chatId);
  const userId = headerValue(headers, HEADER.userId);
  const threadId = headerValue(headers, HEADER.threadId);
  const chatType: ChatType = threadId ? "thread" : chatId && userId && chatId !== userId ? "group" : "dm";
  const source: SessionSource = { platform: "api_server", chatType };
  if (chatId) source.chatId = chatId;
  if (userId) source.userId = userId;
  if (threadId) source.threadId = threadId;
  return source;
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
  options: { model?: string | undefined; previousAgent?: string | undefined } = {},
): Promise<Selection> {
  const principal = c.get("principal");
  const source = sourceOfHeaders(c.req.raw.headers);
  const pick = (agent: AgentProfile, by: Selection["by"]): Selection => {
    source.agentId = agent.id;
    return { agent, source, by };
  };

  const pinned = c.get("pinned");
  if (pinned) return pick(pinned, "path");

  const model = options.model?.trim();
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
