import { html } from "hono/html";
import type { ConsoleSession } from "./sessions.ts";

export type Html = ReturnType<typeof html>;

/** The views in the navigation, in order. */
export const VIEWS = [
  { path: "agents", title: "Agents" },
  { path: "routes", title: "Routes" },
  { path: "live", title: "Live" },
  { path: "platforms", title: "Platforms" },
  { path: "sessions", title: "Sessions" },
  { path: "pairing", title: "Pairing" },
  { path: "chat", title: "Chat" },
] as const;

export type ViewName = (typeof VIEWS)[number]["path"];

export interface PageContext {
  session: ConsoleSession;
  /** No `api_server.keys`: the banner says the console is open to this machine. */
  open: boolean;
  /** The asset URL prefix, versioned so a new release is never served a stale script. */
  assets: string;
}

/** The page shell: navigation, the open-console banner, the CSRF token for the client layer. */
export function page(
  ctx: PageContext,
  view: ViewName | "agent" | "session",
  title: string,
  body: Html,
  options: { scripts?: string[]; styles?: string[] } = {},
): Html {
  const current = view === "agent" ? "agents" : view === "session" ? "sessions" : view;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.session.csrf}">
<title>${title} · Switchboard console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ctx.assets}/console.css">
${(options.styles ?? []).map((s) => html`<link rel="stylesheet" href="${ctx.assets}/${s}">`)}
${(options.scripts ?? []).map((s) => html`<script src="${ctx.assets}/${s}" defer></script>`)}
<script src="${ctx.assets}/console.js" defer></script>
</head>
<body data-view="${view}">
<a class="skip" href="#main">Skip to content</a>
<header>
<span class="brand">Switchboard</span>
<nav aria-label="Console views">
${VIEWS.map(
  (v) =>
    html`<a href="/console/${v.path}"${v.path === current ? html` aria-current="page"` : ""}>${v.title}</a>`,
)}
</nav>
<form method="post" action="/console/logout" class="logout">
<input type="hidden" name="csrf" value="${ctx.session.csrf}">
<button type="submit">Log out</button>
</form>
</header>
${
  ctx.open
    ? html`<p class="banner" role="alert"><strong>Open console.</strong> No <code>api_server.keys</code> are configured, so anyone who can reach this machine's loopback address can use this console and the API. Add a key with <code>admin: true</code> to require a login.</p>`
    : ""
}
<main id="main" tabindex="-1">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

/** The login page (no session yet). */
export function loginPage(assets: string, message?: { text: string; kind: "error" | "info" }): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Switchboard console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}/console.css">
</head>
<body class="login">
<main id="main">
<h1>Switchboard console</h1>
${message ? html`<p class="${message.kind}" role="alert">${message.text}</p>` : ""}
<form method="post" action="/console/login">
<label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<p class="hint">An <code>api_server.keys</code> entry with <code>admin: true</code>.</p>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>`;
}

/** A form that POSTs one action with the CSRF token (buttons work without the client layer). */
export function actionForm(
  ctx: PageContext,
  action: string,
  label: string,
  fields: Record<string, string> = {},
  options: { danger?: boolean; confirm?: string } = {},
): Html {
  return html`<form method="post" action="${action}" class="inline"${options.confirm ? html` data-confirm="${options.confirm}"` : ""}>
<input type="hidden" name="csrf" value="${ctx.session.csrf}">
${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit"${options.danger ? html` class="danger"` : ""}>${label}</button>
</form>`;
}

export function time(at: number | null | undefined): Html {
  if (at === null || at === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.replace("T", " ").slice(0, 19)}Z</time>`;
}
