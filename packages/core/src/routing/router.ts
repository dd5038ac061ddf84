import type { RouteConfig } from "../config/schema.ts";
import { MAIN_AGENT } from "../config/schema.ts";
import type { Logger } from "../logger.ts";
import type { InboundMessage } from "../platform.ts";
import type { HookRunner, Plugin } from "../plugins.ts";
import { HookRunner as Hooks } from "../plugins.ts";
import type { SessionSource } from "../sessions/source.ts";
import { type CompiledMatch, compileMatch, fieldValue, matches } from "./match.ts";

export interface Resolution {
  agentId: string;
  by: "hook" | "route" | "default";
  /** The index in `routes:` of the route that chose the agent. */
  route?: number;
  /** The plugin whose `selectAgent` chose the agent. */
  plugin?: string;
}

export interface RouterConfig {
  routes: RouteConfig[];
  default_agent?: string;
  /** Agent ids that exist; a hook answer outside it is ignored. Default: every agent named by a route + default + main. */
  agents?: Iterable<string>;
}

export interface Router {
  resolve(source: SessionSource, inbound?: InboundMessage): Promise<Resolution>;
  /** The route-or-default answer, synchronously (no hooks). */
  match(source: SessionSource): Resolution;
  readonly routes: readonly RouteConfig[];
}

interface Entry {
  index: number;
  compiled: CompiledMatch;
}

/**
 * Routes compiled into buckets by chat id and by platform, each in declared order. A lookup merges the
 * (small) candidate lists in index order and returns the first full match, so first-match semantics hold
 * while the cost does not grow with the number of routes.
 */
function compileIndex(routes: readonly RouteConfig[]) {
  const byChat = new Map<string, Entry[]>();
  const byPlatform = new Map<string, Entry[]>();
  const rest: Entry[] = [];
  routes.forEach((r, index) => {
    const compiled = compileMatch(r.match);
    const entry = { index, compiled };
    const chat = compiled.find(([f]) => f === "chatId")?.[1];
    const platform = compiled.find(([f]) => f === "platform")?.[1];
    const put = (map: Map<string, Entry[]>, keys: ReadonlySet<string>) => {
      for (const k of keys) {
        const list = map.get(k);
        if (list) list.push(entry);
        else map.set(k, [entry]);
      }
    };
    if (chat) put(byChat, chat);
    else if (platform) put(byPlatform, platform);
    else rest.push(entry);
  });
  const EMPTY: Entry[] = [];
  return (source: SessionSource): Entry | undefined => {
    const chatId = fieldValue(source, "chatId");
    const a = (chatId !== undefined && byChat.get(chatId)) || EMPTY;
    const b = byPlatform.get(source.platform) ?? EMPTY;
    const c = rest;
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length || j < b.length || k < c.length) {
      const ai = a[i]?.index ?? Number.POSITIVE_INFINITY;
      const bj = b[j]?.index ?? Number.POSITIVE_INFINITY;
      const ck = c[k]?.index ?? Number.POSITIVE_INFINITY;
      let e: Entry;
      if (ai <= bj && ai <= ck) e = a[i++]!;
      else if (bj <= ck) e = b[j++]!;
      else e = c[k++]!;
      if (matches(e.compiled, source)) return e;
    }
    return undefined;
  };
}

/** Resolve the agent of a source: a `selectAgent` hook > the first matching route > `default_agent` > `main`. */
export function createRouter(config: RouterConfig, options: { hooks?: HookRunner | Plugin[]; logger?: Logger } = {}): Router {
  const lookup = compileIndex(config.routes);
  const defaultAgent = config.default_agent ?? MAIN_AGENT;
  const known = new Set(config.agents ?? [MAIN_AGENT, defaultAgent, ...config.routes.map((r) => r.agent)]);
  const hooks = Array.isArray(options.hooks) ? new Hooks(options.hooks, options.logger) : options.hooks;
  const useHooks = hooks?.has("selectAgent") ?? false;

  const match = (source: SessionSource): Resolution => {
    const e = lookup(source);
    if (e) return { agentId: config.routes[e.index]!.agent, by: "route", route: e.index };
    return { agentId: known.has(defaultAgent) ? defaultAgent : MAIN_AGENT, by: "default" };
  };

  return {
    routes: config.routes,
    match,
    async resolve(source, inbound) {
      const base = match(source);
      if (!useHooks || !hooks) return base;
      const answer = await hooks.selectAgent({ agentId: base.agentId, source, ...(inbound ? { inbound } : {}) });
      if (!answer) return base;
      if (!known.has(answer.agentId)) {
        options.logger?.warn(
          { plugin: answer.plugin, agent: answer.agentId },
          `plugin ${answer.plugin} chose agent "${answer.agentId}", which is not defined; ignoring it`,
        );
        return base;
      }
      return { agentId: answer.agentId, by: "hook", plugin: answer.plugin };
    },
  };
}

/** The reference implementation: a linear scan in declared order (tests and benchmarks compare against it). */
export function createLinearResolver(routes: readonly RouteConfig[], defaultAgent = MAIN_AGENT): (source: SessionSource) => Resolution {
  const compiled = routes.map((r) => compileMatch(r.match));
  return (source) => {
    for (let i = 0; i < compiled.length; i++) {
      if (matches(compiled[i]!, source)) return { agentId: routes[i]!.agent, by: "route", route: i };
    }
    return { agentId: defaultAgent, by: "default" };
  };
}
