import type { Gateway } from "@switchboard/core";
import { html } from "hono/html";
import { actionForm, type Html, type PageContext, page, time } from "../layout.ts";

/** Every adapter account: state, reconnects, the circuit breaker, and pause/resume (audited, like `/platform pause`). */
export function platformsView(ctx: PageContext, gateway: Gateway, notice?: string): Html {
  const accounts = gateway.ops.adapters();
  const body = html`${notice ? html`<p class="info" role="status">${notice}</p>` : ""}
${
  accounts.length === 0
    ? html`<p class="muted">No platform accounts are running. Add one under <code>platforms:</code> in <code>config.yaml</code>.</p>`
    : html`<div class="table-wrap"><table id="platforms">
<thead><tr><th scope="col">Account</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Reconnects</th><th scope="col">Circuit breaker</th><th scope="col">Action</th></tr></thead>
<tbody>
${accounts.map((a) => {
  const name = `${a.platform}/${a.account}`;
  const breaker = gateway.ops.breaker(a.platform, a.account);
  const paused = breaker.state === "paused";
  return html`<tr><th scope="row">${name}</th>
<td><span class="state state-${a.state}">${a.state}</span>${a.reason ? html`<br><span class="muted">${a.reason}</span>` : ""}</td>
<td>${time(a.since)}</td>
<td class="num">${a.reconnects ?? 0}</td>
<td>${breaker.state}${a.retryAt ? html`<br><span class="muted">retry at ${a.retryAt}</span>` : ""}</td>
<td>${paused ? actionForm(ctx, "/console/platforms/resume", `Resume ${name}`, { name }) : actionForm(ctx, "/console/platforms/pause", `Pause ${name}`, { name }, { danger: true })}</td></tr>`;
})}
</tbody></table></div>`
}
<p class="muted">Pausing holds an account's sends (its circuit breaker is held open) until it is resumed, as the chat command <code>/platform pause</code> does; both are in the audit log (<code>switchboard audit</code>). Reconnects count since the account started.</p>`;
  return page(ctx, "platforms", "Platforms", body);
}
