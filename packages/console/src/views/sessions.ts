import type { Gateway, SessionRecord } from "@switchboard/core";
import { html } from "hono/html";
import { actionForm, type Html, type PageContext, page, time } from "../layout.ts";

const LIST_LIMIT = 100;
const TRANSCRIPT_LIMIT = 1000;

/** Recent sessions of every agent, or full-text search across all of them. */
export async function sessionsView(
  ctx: PageContext,
  gateway: Gateway,
  query: { q?: string; agent?: string },
): Promise<Html> {
  const agents = gateway.config.registry.list().map((p) => p.id);
  const agent = query.agent && agents.includes(query.agent) ? query.agent : undefined;
  const q = query.q?.trim();
  let results: Html;
  if (q) {
    let hits: Awaited<ReturnType<Gateway["store"]["search"]>> = [];
    let error: string | undefined;
    try {
      hits = await gateway.store.search(q, { ...(agent ? { agentId: agent } : {}), limit: LIST_LIMIT });
    } catch (err) {
      error = `The search could not run: ${(err as Error).message}. Use plain words, or quote a phrase.`;
    }
    results = error
      ? html`<p class="error" role="alert">${error}</p>`
      : hits.length === 0
        ? html`<p class="muted" role="status">No messages match “${q}”.</p>`
        : html`<div class="table-wrap"><table id="search-hits"><thead><tr><th scope="col">Session</th><th scope="col">Agent</th><th scope="col">Role</th><th scope="col">Match</th><th scope="col">When</th></tr></thead><tbody>
${hits.map((h) => html`<tr><th scope="row"><a href="/console/sessions/${encodeURIComponent(h.sessionId)}">${h.sessionId}</a></th><td>${h.agentId}</td><td>${h.role}</td><td>${h.snippet}</td><td>${time(h.createdAt)}</td></tr>`)}
</tbody></table></div>`;
  } else {
    const rows = await gateway.store.list({
      ...(agent ? { agentId: agent } : {}),
      limit: LIST_LIMIT,
      includeEnded: true,
    });
    results = rows.length
      ? html`<div class="table-wrap"><table id="sessions"><thead><tr><th scope="col">Session</th><th scope="col">Agent</th><th scope="col">Key</th><th scope="col">Messages</th><th scope="col">Updated</th><th scope="col">State</th></tr></thead><tbody>
${rows.map(
  (s) =>
    html`<tr><th scope="row"><a href="/console/sessions/${encodeURIComponent(s.id)}">${s.title ?? s.id}</a></th><td>${s.agentId}</td><td><code>${s.sessionKey}</code></td><td class="num">${s.messageCount}</td><td>${time(s.updatedAt)}</td><td>${s.endedAt === null ? html`<span class="tag ok">active</span>` : html`<span class="tag">ended: ${s.endReason ?? "ended"}</span>`}</td></tr>`,
)}
</tbody></table></div>`
      : html`<p class="muted">No sessions yet.</p>`;
  }
  const body = html`<form method="get" action="/console/sessions" class="grid" role="search" id="session-search">
<label>Search messages<input type="search" name="q" value="${q ?? ""}" placeholder="words in any message"></label>
<label>Agent<select name="agent"><option value="">all agents</option>${agents.map((a) => html`<option value="${a}"${a === agent ? html` selected` : ""}>${a}</option>`)}</select></label>
<button type="submit">Search</button>
</form>
${results}`;
  return page(ctx, "sessions", "Sessions", body);
}

/** One session's transcript, with End for an active one. */
export async function sessionView(
  ctx: PageContext,
  gateway: Gateway,
  session: SessionRecord,
  notice?: string,
): Promise<Html> {
  const messages = await gateway.store.history(session.id, TRANSCRIPT_LIMIT);
  const body = html`${notice ? html`<p class="info" role="status">${notice}</p>` : ""}
<dl class="facts">
<dt>Agent</dt><dd><a href="/console/agents/${session.agentId}">${session.agentId}</a></dd>
<dt>Key</dt><dd><code>${session.sessionKey}</code></dd>
<dt>Started</dt><dd>${time(session.startedAt)}</dd>
<dt>Updated</dt><dd>${time(session.updatedAt)}</dd>
<dt>Tokens in / out</dt><dd>${session.inputTokens} / ${session.outputTokens}</dd>
<dt>State</dt><dd>${session.endedAt === null ? "active" : html`ended (${session.endReason ?? "ended"}) ${time(session.endedAt)}`}</dd>
</dl>
${session.endedAt === null ? actionForm(ctx, `/console/sessions/${encodeURIComponent(session.id)}/end`, "End this session", {}, { danger: true, confirm: "End this session? The chat's next message starts a new one." }) : ""}
<ol class="transcript" id="transcript">
${messages.map(
  (m) =>
    html`<li class="msg msg-${m.role}"><span class="role">${m.role}</span> ${time(m.createdAt)}<div class="content">${m.content}</div>${m.toolCalls ? html`<pre class="file">${JSON.stringify(m.toolCalls, null, 2)}</pre>` : ""}</li>`,
)}
</ol>`;
  return page(ctx, "session", `Session ${session.title ?? session.id}`, body);
}
