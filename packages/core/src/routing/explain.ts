import type { RouteConfig, RouteMatch } from "../config/schema.ts";
import type { ChatType } from "../platform.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { Resolution, Router } from "./router.ts";

/** The fields of a route test (`switchboard route test`, the console's route tester). */
export interface RouteTestInput {
  platform: string;
  account?: string | undefined;
  chatId?: string | undefined;
  chatType?: ChatType | undefined;
  threadId?: string | undefined;
  topicId?: string | undefined;
  parentChatId?: string | undefined;
  userId?: string | undefined;
  userIdAlt?: string | undefined;
  guildId?: string | undefined;
}

/** Why a source reaches its agent: the resolution and the rule that chose it, in words. */
export interface RouteExplanation {
  agent: string;
  by: Resolution["by"];
  route: number | null;
  plugin: string | null;
  /** `routes[2]`, `plugin vip (selectAgent)` or `default_agent (main)`. */
  rule: string;
  /** The chosen route's match as `key=value` pairs (`chat_id=-100 user_id=7|8`); empty otherwise. */
  match: string;
}

/** A route's match as `key=a|b key=c`. */
export function describeMatch(match: RouteMatch): string {
  return Object.entries(match)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
    .join(" ");
}

/** The source a route test describes; without a chat type: a thread with a thread id, a group with a chat id, else a DM. */
export function routeTestSource(input: RouteTestInput): SessionSource {
  const s: SessionSource = {
    platform: input.platform,
    chatType: input.chatType ?? (input.threadId ? "thread" : input.chatId ? "group" : "dm"),
  };
  for (const k of [
    "account",
    "chatId",
    "threadId",
    "topicId",
    "parentChatId",
    "userId",
    "userIdAlt",
    "guildId",
  ] as const) {
    const v = input[k];
    if (v) s[k] = v;
  }
  return s;
}

/** Which agent a source reaches and the rule that chose it (the `selectAgent` plugins run too). */
export async function explainRoute(
  config: { routes: readonly RouteConfig[]; default_agent: string },
  router: Router,
  source: SessionSource,
): Promise<RouteExplanation> {
  const r = await router.resolve(source);
  const rule =
    r.by === "route"
      ? `routes[${r.route}]`
      : r.by === "hook"
        ? `plugin ${r.plugin} (selectAgent)`
        : `default_agent (${config.default_agent})`;
  const route = r.route !== undefined ? config.routes[r.route] : undefined;
  return {
    agent: r.agentId,
    by: r.by,
    route: r.route ?? null,
    plugin: r.plugin ?? null,
    rule,
    match: route ? describeMatch(route.match) : "",
  };
}
