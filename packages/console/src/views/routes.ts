import {
  describeMatch,
  explainRoute,
  findShadowedRoutes,
  type Gateway,
  type RouteExplanation,
  routeTestSource,
} from "@switchboard/core";
import { html } from "hono/html";
import { z } from "zod";
import { type Html, type PageContext, page } from "../layout.ts";

const field = z
  .string()
  .max(256)
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

/** The route tester's fields, as `switchboard route test` takes them. */
export const routeTestQuery = z.object({
  platform: z.string().trim().min(1, "platform is required").max(64),
  account: field,
  chat_id: field,
  chat_type: z
    .enum(["", "dm", "group", "channel", "thread"])
    .optional()
    .transform((v) => (v ? v : undefined)),
  thread_id: field,
  topic_id: field,
  parent_chat_id: field,
  user_id: field,
  user_id_alt: field,
  guild_id: field,
});

export type RouteTestQuery = z.output<typeof routeTestQuery>;

/** The same explanation as `switchboard route test`, for the tester's fields. */
export function testRoute(gateway: Gateway, q: RouteTestQuery): Promise<RouteExplanation> {
  const source = routeTestSource({
    platform: q.platform,
    account: q.account,
    chatId: q.chat_id,
    chatType: q.chat_type,
    threadId: q.thread_id,
    topicId: q.topic_id,
    parentChatId: q.parent_chat_id,
    userId: q.user_id,
    userIdAlt: q.user_id_alt,
    guildId: q.guild_id,
  });
  return explainRoute(gateway.config, gateway.router, source);
}

const TEXT_FIELDS = [
  ["platform", "Platform"],
  ["account", "Account"],
  ["chat_id", "Chat id"],
  ["thread_id", "Thread id"],
  ["topic_id", "Topic id"],
  ["parent_chat_id", "Parent chat id"],
  ["guild_id", "Guild id"],
  ["user_id", "User id"],
  ["user_id_alt", "Other user id"],
] as const;

export function routesView(
  ctx: PageContext,
  gateway: Gateway,
  tester: { query: Record<string, string>; result?: RouteExplanation; error?: string },
): Html {
  const { routes, default_agent, warnings } = gateway.config;
  const shadowed = new Map(findShadowedRoutes(routes).map((s) => [s.route, s.by]));
  const chose = tester.result?.route ?? (tester.result?.by === "default" ? "default" : undefined);
  const q = tester.query;
  const body = html`<div class="table-wrap"><table id="routes">
<thead><tr><th scope="col">Rule</th><th scope="col">Match</th><th scope="col">Agent</th><th scope="col">Note</th></tr></thead>
<tbody>
${routes.map((r, i) => {
  const by = shadowed.get(i);
  const cls = [by !== undefined ? "shadowed" : "", chose === i ? "chosen" : ""].filter(Boolean).join(" ");
  return html`<tr${cls ? html` class="${cls}"` : ""}><th scope="row">routes[${i}]</th><td><code>${describeMatch(r.match)}</code></td><td><a href="/console/agents/${r.agent}">${r.agent}</a></td><td>${by !== undefined ? html`<span class="tag warn">shadowed by routes[${by}]: never fires</span>` : ""}${chose === i ? html`<span class="tag ok">chosen</span>` : ""}</td></tr>`;
})}
<tr${chose === "default" ? html` class="chosen"` : ""}><th scope="row">default</th><td class="muted">(no route matched)</td><td><a href="/console/agents/${default_agent}">${default_agent}</a></td><td>${chose === "default" ? html`<span class="tag ok">chosen</span>` : ""}</td></tr>
</tbody></table></div>
${warnings.length ? html`<ul class="warnings">${warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ""}
<section aria-labelledby="tester"><h2 id="tester">Route tester</h2>
<p class="muted">Which agent would answer a message from here, and the rule that chose it (plugins' <code>selectAgent</code> included), exactly as <code>switchboard route test</code> says.</p>
<form method="get" action="/console/routes#tester" class="grid" id="route-test">
${TEXT_FIELDS.map(
  ([name, label]) =>
    html`<label>${label}<input name="${name}" value="${q[name] ?? ""}"${name === "platform" ? html` required` : ""}></label>`,
)}
<label>Chat type<select name="chat_type">
${["", "dm", "group", "channel", "thread"].map((t) => html`<option value="${t}"${q.chat_type === t ? html` selected` : ""}>${t || "(from the ids)"}</option>`)}
</select></label>
<button type="submit">Test</button>
</form>
${tester.error ? html`<p class="error" role="alert">${tester.error}</p>` : ""}
${
  tester.result
    ? html`<dl class="result" id="route-result" role="status"><dt>Agent</dt><dd><strong>${tester.result.agent}</strong></dd><dt>Rule</dt><dd>${tester.result.rule}${tester.result.match ? html` — match <code>${tester.result.match}</code>` : ""}</dd></dl>`
    : ""
}
</section>`;
  return page(ctx, "routes", "Routes", body);
}
