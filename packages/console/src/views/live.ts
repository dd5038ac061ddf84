import type { Gateway } from "@switchboard/core";
import { html } from "hono/html";
import { type Html, type PageContext, page } from "../layout.ts";

/** Live traffic: the table and charts are filled by `live.js` from `/console/api/live` (history + SSE). */
export function liveView(ctx: PageContext, gateway: Gateway): Html {
  const agents = gateway.config.registry.list().map((p) => p.id);
  const body = html`<form class="grid filters" id="live-filter" role="search" aria-label="Filter turns">
<label>Agent<select name="agent"><option value="">all</option>${agents.map((a) => html`<option value="${a}">${a}</option>`)}</select></label>
<label>Platform<input name="platform" placeholder="e.g. telegram"></label>
<label>Outcome<select name="outcome"><option value="">all</option><option>ok</option><option>error</option><option>aborted</option><option>refused</option></select></label>
<label>Text<input name="text" placeholder="session, account…"></label>
</form>
<section class="charts" aria-label="Charts of the last hour">
<figure><figcaption>Turns per minute, last hour</figcaption><div id="chart-turns" class="chart"></div></figure>
<figure><figcaption>Latency percentiles (p50, p95), ms, last hour</figcaption><div id="chart-latency" class="chart"></div></figure>
</section>
<div class="table-wrap"><table id="live-agents">
<caption class="sr-only">Per agent, last hour</caption>
<thead><tr><th scope="col">Agent (last hour)</th><th scope="col">Turns</th><th scope="col">p50 latency</th><th scope="col">p95 latency</th><th scope="col">Errors</th></tr></thead>
<tbody></tbody>
</table></div>
<p class="muted" id="live-status" role="status" aria-live="polite">Connecting…</p>
<div class="table-wrap"><table id="live">
<thead><tr><th scope="col">Time</th><th scope="col">Agent</th><th scope="col">Platform / account</th><th scope="col">Session</th><th scope="col">Latency</th><th scope="col">Tokens in / out</th><th scope="col">Outcome</th></tr></thead>
<tbody></tbody>
</table></div>
<p class="muted">Turns since the console was first opened (up to an hour), from the gateway's turn telemetry.</p>`;
  return page(ctx, "live", "Live traffic", body, { scripts: ["uplot.js", "live.js"], styles: ["uplot.css"] });
}
