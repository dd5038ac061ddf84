import type { RouteConfig } from "../config/schema.ts";
import { MAIN_AGENT } from "../config/schema.ts";
import type { Logger } from "../logger.ts";
import type { InboundMessage } from "../platform.ts";
import type { HookRunner, Plugin } from "../plugins.ts";
import { HookRunner as Hooks } from "../plugins.ts";
import type { SessionSource } from "../sessions/source.ts";
import { compileMatch, matches } from "./match.ts";
import { compileRouteIndex } from "./route-index.ts";

export interface Resolution {
  agentId: string;
  /** `override`: an admin switched the chat with `/agent <id>` (stored per chat, ahead of hooks and routes). */
  by: "hook" | "route" | "default" | "override";
  /** The index in `routes:` of the route that chose the agent. */
  route?: number;
  /** The plugin whose `selectAgent` chose the agent. */
  plugin?: string;
  /** Who switched the chat (`by: "override"`). */
  setBy?: string;
}

export interface RouterConfig {
  routes: RouteConfig[];
  default_agent?: string;
  /**
   * Agent ids that exist (a list, or the config's `agents:` map); a hook answer outside them is ignored.
   * Default: every agent named by a route + default + main.
   */
  agents?: Iterable<string> | Record<string, unknown>;
}

export interface Router {
  resolve(source: SessionSource, inbound?: InboundMessage): Promise<Resolution>;
  /** The route-or-default answer, synchronously (no hooks). */
  match(source: SessionSource): Resolution;
  readonly routes: readonly RouteConfig[];
}

function agentIds(config: RouterConfig): Iterable<string> {
  const agents = config.agents;
  if (agents === undefined)
    return [MAIN_AGENT, config.default_agent ?? MAIN_AGENT, ...config.routes.map((r) => r.agent)];
  if (typeof (agents as Iterable<string>)[Symbol.iterator] === "function") return agents as Iterable<string>;
  return [MAIN_AGENT, ...Object.keys(agents)];
}

/** Resolve the agent of a source: a `selectAgent` hook > the first matching route > `default_agent` > `main`. */
export function createRouter(
  config: RouterConfig,
  options: { hooks?: HookRunner | Plugin[]; logger?: Logger } = {},
): Router {
  const lookup = compileRouteIndex(config.routes);
  const defaultAgent = config.default_agent ?? MAIN_AGENT;
  const known = new Set<string>(agentIds(config));
  const hooks = Array.isArray(options.hooks) ? new Hooks(options.hooks, options.logger) : options.hooks;
  const useHooks = hooks?.has("selectAgent") ?? false;

  // Answers are shared, frozen objects, made on a route's first match: the hot path allocates nothing, and
  // a config of 10,000 routes does not start with 10,000 answers most chats never need.
  const routes = config.routes;
  const byRoute = new Array<Resolution | undefined>(routes.length);
  const answer = (i: number): Resolution =>
    (byRoute[i] ??= Object.freeze<Resolution>({ agentId: routes[i]!.agent, by: "route", route: i }));
  const byDefault = Object.freeze<Resolution>({
    agentId: known.has(defaultAgent) ? defaultAgent : MAIN_AGENT,
    by: "default",
  });
  const match = (source: SessionSource): Resolution => {
    const index = lookup(source);
    return index >= 0 ? answer(index) : byDefault;
  };

  const resolveWithHooks = async (
    runner: HookRunner,
    source: SessionSource,
    inbound?: InboundMessage,
  ): Promise<Resolution> => {
    const base = match(source);
    const answer = await runner.selectAgent({
      agentId: base.agentId,
      source,
      ...(inbound ? { inbound } : {}),
    });
    if (!answer) return base;
    if (typeof answer.agentId !== "string" || !known.has(answer.agentId)) {
      options.logger?.warn(
        { plugin: answer.plugin, agent: answer.agentId },
        `plugin ${answer.plugin} chose agent "${String(answer.agentId)}", which is not defined; ignoring it`,
      );
      return base;
    }
    return { agentId: answer.agentId, by: "hook", plugin: answer.plugin };
  };

  return {
    routes: config.routes,
    match,
    // Without selectAgent hooks there is nothing to await: skip the async machinery on the hot path.
    resolve:
      useHooks && hooks
        ? (source, inbound) => resolveWithHooks(hooks, source, inbound)
        : (source) => Promise.resolve(match(source)),
  };
}

/** The reference implementation: a linear scan in declared order (tests and benchmarks compare against it). */
export function createLinearResolver(
  routes: readonly RouteConfig[],
  defaultAgent = MAIN_AGENT,
): (source: SessionSource) => Resolution {
  const compiled = routes.map((r) => compileMatch(r.match));
  return (source) => {
    for (let i = 0; i < compiled.length; i++) {
      if (matches(compiled[i]!, source)) return { agentId: routes[i]!.agent, by: "route", route: i };
    }
    return { agentId: defaultAgent, by: "default" };
  };
}
