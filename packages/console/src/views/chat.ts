import type { Gateway } from "@switchboard/core";
import { html } from "hono/html";
import { type Html, type PageContext, page } from "../layout.ts";

/** Chat with any agent; `chat.js` streams the reply through `/v1/chat/completions`. */
export function chatView(ctx: PageContext, gateway: Gateway, agent: string | undefined): Html {
  const agents = gateway.config.registry.list().map((p) => p.id);
  const body = html`<form id="chat-form" class="chat-form" autocomplete="off">
<label>Agent<select name="agent" id="chat-agent">${agents.map((a) => html`<option value="${a}"${a === agent ? html` selected` : ""}>${a}</option>`)}</select></label>
<button type="button" id="chat-new">New conversation</button>
<ol id="chat-log" class="transcript" aria-live="polite"></ol>
<label for="chat-input" class="sr-only">Message</label>
<textarea id="chat-input" name="message" rows="3" placeholder="Message (Enter sends, Shift+Enter for a new line)" required></textarea>
<button type="submit" id="chat-send">Send</button>
</form>
<p class="muted">The reply streams through the same <code>POST /v1/chat/completions</code> every API client uses, as your key, and is stored as a session of the agent (platform <code>api_server</code>).</p>`;
  return page(ctx, "chat", "Chat", body, { scripts: ["chat.js"] });
}
