import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type AgentProfile,
  cronDir,
  type Gateway,
  memoryDir,
  readJobs,
  skillsDir,
  useAgent,
  usedFraction,
  windowIds,
} from "@switchboard/core";
import { html } from "hono/html";
import { type Html, type PageContext, page, time } from "../layout.ts";
import type { LiveFeed } from "../live-feed.ts";

const DAY_MS = 86_400_000;
/** A file shown in the page is cut here: the console is for looking, not for downloading a huge memory. */
const MAX_FILE_CHARS = 64_000;

function startOfUtcDay(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}

/** Today's spend of an agent and, when it has a daily budget, the fraction used. */
async function usageToday(gateway: Gateway, id: string, now: number) {
  const total = await gateway.store.usage.total(`agent:${id}`, windowIds(now).daily);
  const limit = gateway.config.agents[id]?.budget?.daily;
  return { total, limit, fraction: limit ? usedFraction(total, limit) : undefined };
}

function routesOf(gateway: Gateway, id: string): string[] {
  const out = gateway.config.routes.flatMap((r, i) => (r.agent === id ? [`routes[${i}]`] : []));
  if (gateway.config.default_agent === id) out.push("default");
  return out;
}

function budgetBar(u: Awaited<ReturnType<typeof usageToday>>): Html {
  const spent = html`${u.total.tokens.toLocaleString("en-US")} tokens · $${u.total.costUsd.toFixed(4)}`;
  if (u.fraction === undefined || !u.limit)
    return html`${spent} <span class="muted">(no daily budget)</span>`;
  const pct = Math.round(u.fraction * 100);
  const limit = [
    u.limit.tokens ? `${u.limit.tokens.toLocaleString("en-US")} tokens` : "",
    u.limit.usd ? `$${u.limit.usd.toFixed(2)}` : "",
  ]
    .filter(Boolean)
    .join(" / ");
  return html`<meter min="0" max="1" low="0.7" high="0.9" optimum="0" value="${Math.min(1, u.fraction)}" aria-label="daily budget used">${pct}%</meter>
<span>${pct}% of ${limit}</span><br><span class="muted">${spent}</span>`;
}

export async function agentsView(ctx: PageContext, gateway: Gateway, feed: LiveFeed): Promise<Html> {
  const now = Date.now();
  const since = startOfUtcDay(now);
  const mcp = gateway.ops.mcp();
  const rows = await Promise.all(
    gateway.config.registry.list().map(async (p) => {
      const sessions = (
        await gateway.store.list({ agentId: p.id, limit: 10_000, includeEnded: true })
      ).filter((s) => s.updatedAt >= since).length;
      const usage = await usageToday(gateway, p.id, now);
      const err = feed.lastError(p.id);
      const servers = Object.keys(p.mcp);
      return html`<tr>
<th scope="row"><a href="/console/agents/${p.id}">${p.id}</a>${p.name !== p.id ? html`<br><span class="muted">${p.name}</span>` : ""}</th>
<td>${p.model.name ?? "(default)"}</td>
<td>${p.provider.name}${p.provider.name !== p.provider.kind ? html` <span class="muted">(${p.provider.kind})</span>` : ""}</td>
<td>${p.toolsets.join(", ") || html`<span class="muted">none</span>`}</td>
<td>${servers.length ? servers.map((s) => html`<span class="tag">${s}: ${mcp[p.id]?.[s]?.state ?? "not started"}</span> `) : html`<span class="muted">—</span>`}</td>
<td>${routesOf(gateway, p.id).join(", ") || html`<span class="muted">none</span>`}</td>
<td class="num">${sessions}</td>
<td class="budget">${budgetBar(usage)}</td>
<td>${err ? html`<span class="error">${err.message}</span><br>${time(err.at)}` : html`<span class="muted">—</span>`}</td>
</tr>`;
    }),
  );
  return page(
    ctx,
    "agents",
    "Agents",
    html`<div class="table-wrap"><table id="agents">
<thead><tr><th scope="col">Agent</th><th scope="col">Model</th><th scope="col">Provider</th><th scope="col">Toolsets</th><th scope="col">MCP servers</th><th scope="col">Routes</th><th scope="col">Sessions today</th><th scope="col">Usage today</th><th scope="col">Last error</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
<p class="muted">Config is the source of truth for agents: edit <code>config.yaml</code> (or <code>switchboard agent add|remove</code>) and the gateway reloads it. The last error is the latest since the console was first opened.</p>`,
  );
}

function readCapped(file: string): string | undefined {
  try {
    const text = readFileSync(file, "utf8");
    return text.length > MAX_FILE_CHARS
      ? `${text.slice(0, MAX_FILE_CHARS)}\n… (cut at ${MAX_FILE_CHARS} characters)`
      : text;
  } catch {
    return undefined;
  }
}

function filesIn(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(suffix))
      .sort();
  } catch {
    return [];
  }
}

/** The newest output file of a cron job (`cron/output/<job>/<stamp>.md`), with its time. */
function lastOutput(dir: string, jobId: string): { text: string; at: number } | undefined {
  const jobDir = join(dir, "output", jobId);
  const files = filesIn(jobDir, ".md");
  const newest = files.at(-1);
  if (!newest) return undefined;
  const file = join(jobDir, newest);
  const text = readCapped(file);
  return text === undefined ? undefined : { text, at: statSync(file).mtimeMs };
}

function pre(text: string | undefined, empty: string): Html {
  return text === undefined ? html`<p class="muted">${empty}</p>` : html`<pre class="file">${text}</pre>`;
}

/** The agent's files (read-only) and cron jobs, paths taken from core's agent scope. */
export function agentView(ctx: PageContext, profile: AgentProfile): Html {
  const dirs = useAgent(profile, () => ({ memory: memoryDir(), skills: skillsDir(), cron: cronDir() }));
  const soul = readCapped(join(profile.home, "SOUL.md"));
  const memories = filesIn(dirs.memory, ".md");
  const skills = (() => {
    try {
      return readdirSync(dirs.skills)
        .filter((d) => existsSync(join(dirs.skills, d, "SKILL.md")))
        .sort();
    } catch {
      return [];
    }
  })();
  let jobs: ReturnType<typeof readJobs> = [];
  let jobsError: string | undefined;
  try {
    jobs = readJobs(dirs.cron);
  } catch (err) {
    jobsError = (err as Error).message;
  }
  const body = html`<p><span class="tag">${profile.provider.name}</span> <span class="tag">${profile.model.name ?? "(default model)"}</span> <span class="muted">home</span> <code>${profile.home}</code></p>
<section aria-labelledby="soul"><h2 id="soul">SOUL.md</h2>${pre(soul, "No SOUL.md: the default persona is used.")}</section>
<section aria-labelledby="memory"><h2 id="memory">Memory</h2>
${memories.length ? memories.map((f) => html`<details open><summary>${f}</summary>${pre(readCapped(join(dirs.memory, f)), "(unreadable)")}</details>`) : html`<p class="muted">No memory files.</p>`}
</section>
<section aria-labelledby="skills"><h2 id="skills">Skills</h2>
${skills.length ? skills.map((s) => html`<details><summary>${s}</summary>${pre(readCapped(join(dirs.skills, s, "SKILL.md")), "(unreadable)")}</details>`) : html`<p class="muted">No skills.</p>`}
</section>
<section aria-labelledby="cron"><h2 id="cron">Cron jobs</h2>
${jobsError ? html`<p class="error">${jobsError}</p>` : ""}
${
  jobs.length
    ? html`<div class="table-wrap"><table id="cron-jobs"><thead><tr><th scope="col">Job</th><th scope="col">Schedule</th><th scope="col">Deliver</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col">Last output</th></tr></thead><tbody>
${jobs.map((j) => {
  const out = lastOutput(dirs.cron, j.id);
  return html`<tr><th scope="row">${j.name || j.id}<br><span class="muted">${j.id}</span></th><td><code>${j.schedule.input}</code>${j.enabled ? "" : html` <span class="tag">disabled</span>`}</td><td>${j.deliver}</td><td>${time(j.nextRunAt)}</td><td>${time(j.lastRunAt)} ${j.lastStatus ? html`<span class="tag">${j.lastStatus}</span>` : ""}${j.lastError ? html`<br><span class="error">${j.lastError}</span>` : ""}</td><td>${out ? html`<details><summary>${time(out.at)}</summary><pre class="file">${out.text}</pre></details>` : html`<span class="muted">—</span>`}</td></tr>`;
})}
</tbody></table></div>`
    : html`<p class="muted">No cron jobs.</p>`
}
</section>`;
  return page(ctx, "agent", `Agent ${profile.id}`, body);
}
