import { MATCH_KEYS } from "@switchboard/core";
import { hasThreads, switchboardChat } from "./chat-ids.ts";
import type { HermesProfile } from "./read-home.ts";
import { isRecord } from "./read-home.ts";

const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const truthy = (v: unknown) => v === true || (typeof v === "string" && /^(1|true|yes|on)$/i.test(v.trim()));

/** A match's chat keys as Switchboard's adapter of its platform names the chat (Yuanbao's `group:<code>` → `<code>`). */
function adapterChat(match: Record<string, string>): Record<string, string> {
  const platform = match.platform;
  if (!platform) return match;
  const out = { ...match };
  if (out.chat_id !== undefined) {
    const chat = switchboardChat(platform, out.chat_id, out.thread_id);
    out.chat_id = chat.chatId;
    if (chat.threadId === undefined) delete out.thread_id;
  }
  if (out.parent_chat_id !== undefined)
    out.parent_chat_id = switchboardChat(platform, out.parent_chat_id).chatId;
  return out;
}

/**
 * The routes of the default profile's traffic: the multi-agent schema's `routes:` (declared order), then
 * `gateway.profile_routes` (most specific first, as upstream matches them). Both split the default profile's
 * bots, so each is pinned to that bot's account.
 */
export function planRoutes(
  root: HermesProfile,
  idOf: ReadonlyMap<string, string>,
  mainAccount: (platform: string) => string | undefined,
  notes: string[],
): Array<Record<string, unknown>> {
  const rootCfg = root.config;
  const gatewayCfg = isRecord(rootCfg.gateway) ? rootCfg.gateway : {};
  const routes: Array<Record<string, unknown>> = [];
  const hermesRoutes = Array.isArray(rootCfg.routes) ? rootCfg.routes : [];
  for (const [i, r] of hermesRoutes.entries()) {
    const where = `routes[${i}]`;
    if (!isRecord(r) || !isRecord(r.match) || !str(r.agent)) {
      notes.push(`${where}: malformed: skipped (as Hermes does)`);
      continue;
    }
    const agent = idOf.get(str(r.agent)!);
    if (!agent) {
      notes.push(`${where}: agent ${String(r.agent)} is not defined: skipped`);
      continue;
    }
    const keys = Object.keys(r.match);
    const unknown = keys.filter((k) => !(MATCH_KEYS as readonly string[]).includes(k) || k === "account");
    if (!keys.length || unknown.length) {
      notes.push(
        `${where}: ${keys.length ? `unknown match keys ${unknown.join(", ")}` : "empty match"}: it never matched in Hermes: skipped`,
      );
      continue;
    }
    const raw = r.match as Record<string, unknown>;
    const match = adapterChat(Object.fromEntries(keys.map((k) => [k, String(raw[k])])));
    if (match.platform && mainAccount(match.platform)) match.account = mainAccount(match.platform)!;
    routes.push({ name: `hermes ${where}`, match, agent });
  }
  const multiplex =
    truthy(gatewayCfg.multiplex_profiles) ||
    truthy(rootCfg.multiplex_profiles) ||
    truthy(root.env.GATEWAY_MULTIPLEX_PROFILES);
  const profileRoutes = Array.isArray(gatewayCfg.profile_routes)
    ? gatewayCfg.profile_routes
    : Array.isArray(rootCfg.profile_routes)
      ? rootCfg.profile_routes
      : [];
  if (profileRoutes.length && !multiplex)
    notes.push(
      "gateway.profile_routes is set but multiplex_profiles is off: Hermes ignored them, so does the import",
    );
  const specificity = (r: Record<string, unknown>) => (r.thread_id ? 3 : r.chat_id ? 2 : r.guild_id ? 1 : 0);
  const ordered = (multiplex ? profileRoutes : [])
    .map((r, i) => ({ r, i }))
    .filter((x): x is { r: Record<string, unknown>; i: number } => isRecord(x.r))
    .sort((a, b) => specificity(b.r) - specificity(a.r) || a.i - b.i);
  for (const { r, i } of ordered) {
    const where = `gateway.profile_routes[${i}]${str(r.name) ? ` (${str(r.name)})` : ""}`;
    if (r.enabled === false) {
      notes.push(`${where}: disabled: skipped`);
      continue;
    }
    const agent = idOf.get(String(r.profile));
    const platform = str(r.platform);
    if (!agent || !platform || !specificity(r)) {
      notes.push(
        `${where}: ${agent ? "no platform or chat to match" : `profile ${String(r.profile)} does not exist (Hermes rejected its messages; Switchboard sends them to the default agent)`}: skipped`,
      );
      continue;
    }
    let match: Record<string, string> = { platform };
    if (mainAccount(platform)) match.account = mainAccount(platform)!;
    for (const k of ["guild_id", "chat_id", "thread_id"] as const)
      if (r[k] !== undefined) match[k] = String(r[k]);
    match = adapterChat(match);
    routes.push({ name: `hermes ${where}`, match, agent });
    // Upstream: a chat route also covers the threads whose parent is that chat.
    if (match.chat_id && !match.thread_id && hasThreads(platform)) {
      const { chat_id, ...rest } = match;
      routes.push({ name: `hermes ${where} (threads)`, match: { ...rest, parent_chat_id: chat_id }, agent });
    }
  }
  return routes;
}
