import {
  approvePairing,
  controlPlatform,
  denyPairing,
  endSession,
  PairingError,
  revokePairing,
  userTarget,
} from "@switchboard/core";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { assetResponse } from "./assets.ts";
import { formOf, textOf } from "./body.ts";
import type { ConsoleHandler, ConsoleHost } from "./host.ts";
import { loginPage, type PageContext } from "./layout.ts";
import { LiveFeed } from "./live-feed.ts";
import { LoginThrottle, peerAddress } from "./login-throttle.ts";
import {
  type ConsoleSession,
  csrfMatches,
  OPEN_ID,
  SessionTable,
  sameOrigin,
  sessionCookie,
} from "./sessions.ts";
import { agentsView, agentView } from "./views/agents.ts";
import { chatView } from "./views/chat.ts";
import { liveView } from "./views/live.ts";
import { pairingView } from "./views/pairing.ts";
import { platformsView } from "./views/platforms.ts";
import { routesView, routeTestQuery, testRoute } from "./views/routes.ts";
import { sessionsView, sessionView } from "./views/sessions.ts";

type Env = { Variables: { session: ConsoleSession } };

const ASSETS = "/console/assets";
const HEARTBEAT_MS = 15_000;
const MAX_CHAT_BODY = 1024 * 1024;

/** Every console response: no framing, no inline script, nothing cached, no `Referer` to other sites. */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // Not `no-referrer`: with it, Chromium sends `Origin: null` on form posts and the same-origin check fails.
  "referrer-policy": "same-origin",
};

const chatBody = z.strictObject({
  agent: z.string().min(1).max(64),
  messages: z
    .array(z.strictObject({ role: z.enum(["user", "assistant"]), content: z.string().max(200_000) }))
    .min(1)
    .max(500),
  conversation: z
    .string()
    .regex(/^console-[A-Za-z0-9-]{8,64}$/)
    .optional(),
});

function jsonError(status: number, message: string, code: string): Response {
  return Response.json(
    { error: { message, type: "invalid_request_error", param: null, code } },
    { status, headers: { "cache-control": "no-store" } },
  );
}

const isApi = (path: string) => path.startsWith("/console/api/");

/** The console on the gateway's listener: admin login, the views, the live feed and the chat proxy. */
export function createConsole(host: ConsoleHost): ConsoleHandler {
  const { gateway } = host;
  const sessions = new SessionTable(host);
  const throttle = new LoginThrottle();
  const feed = new LiveFeed(() => gateway.store);
  const streams = new Set<() => void>();
  const app = new Hono<Env>();
  const pageCtx = (c: Context<Env>): PageContext => ({
    session: c.get("session"),
    open: host.open(),
    assets: ASSETS,
  });

  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });

  app.get(`${ASSETS}/:name`, (c) => assetResponse(c.req.param("name")) ?? c.notFound());

  app.get("/console/login", (c) => {
    if (host.open() || sessions.of(c.req.raw)) return c.redirect("/console/agents", 303);
    return c.html(loginPage(ASSETS));
  });

  app.post("/console/login", async (c) => {
    if (!sameOrigin(c.req.raw))
      return c.html(loginPage(ASSETS, { kind: "error", text: "Log in from the console's own page." }), 403);
    const peer = peerAddress(c.env);
    const wait = throttle.retryAfterMs(peer);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      c.header("retry-after", String(seconds));
      return c.html(
        loginPage(ASSETS, { kind: "error", text: `Too many failed logins: try again in ${seconds} s.` }),
        429,
      );
    }
    const form = await formOf(c.req.raw);
    const key = form?.get("key")?.trim();
    if (!key) return c.html(loginPage(ASSETS, { kind: "error", text: "Enter an admin API key." }), 400);
    const who = host.identify(key);
    if (!who) {
      throttle.fail(peer);
      return c.html(loginPage(ASSETS, { kind: "error", text: "That is not a configured API key." }), 401);
    }
    throttle.succeed(peer);
    if (!who.admin)
      return c.html(
        loginPage(ASSETS, {
          kind: "error",
          text: "That key is not an admin key: the console needs an api_server.keys entry with admin: true.",
        }),
        403,
      );
    const session = sessions.create(who.id, who.name);
    await gateway.ops.audit({ actor: session.actor, action: "console.login", target: who.id });
    return new Response(null, {
      status: 303,
      headers: { location: "/console/agents", "set-cookie": sessionCookie(c.req.raw, session) },
    });
  });

  // Everything below needs a session; the open loopback console makes one on the first page.
  app.use("*", async (c, next) => {
    let session = sessions.of(c.req.raw);
    let cookie: string | undefined;
    if (!session && host.open() && c.req.method === "GET") {
      session = sessions.create(OPEN_ID, undefined);
      cookie = sessionCookie(c.req.raw, session);
    }
    if (!session) {
      if (c.req.method === "GET" && !isApi(c.req.path)) return c.redirect("/console/login", 303);
      return jsonError(
        401,
        "Log in to the console first (POST /console/login with an admin key).",
        "login_required",
      );
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      if (!sameOrigin(c.req.raw))
        return jsonError(
          403,
          "Console changes must come from the console's own page.",
          "cross_origin_refused",
        );
      const header = c.req.header("x-csrf-token");
      let presented = header;
      if (
        presented === undefined &&
        c.req.header("content-type")?.startsWith("application/x-www-form-urlencoded")
      ) {
        const form = await formOf(c.req.raw.clone());
        presented = form?.get("csrf") ?? undefined;
      }
      if (!csrfMatches(session, presented))
        return jsonError(
          403,
          "The form is stale or was not sent by the console: reload the page.",
          "csrf_mismatch",
        );
    }
    c.set("session", session);
    await next();
    if (cookie) c.res.headers.append("set-cookie", cookie);
  });

  app.post("/console/logout", (c) => {
    sessions.end(c.get("session").id);
    return new Response(null, {
      status: 303,
      headers: { location: "/console/login", "set-cookie": sessionCookie(c.req.raw, undefined) },
    });
  });

  app.get("/console", (c) => c.redirect("/console/agents", 303));
  app.get("/console/agents", async (c) => c.html(await agentsView(pageCtx(c), gateway, feed)));
  app.get("/console/agents/:id", (c) => {
    const profile = gateway.agent(c.req.param("id"));
    if (!profile) return c.html(`<p>No agent "${c.req.param("id").replace(/[^a-z0-9_-]/g, "")}".</p>`, 404);
    return c.html(agentView(pageCtx(c), profile));
  });

  app.get("/console/routes", async (c) => {
    const query = c.req.query();
    if (!query.platform) return c.html(routesView(pageCtx(c), gateway, { query }));
    const parsed = routeTestQuery.safeParse(query);
    if (!parsed.success)
      return c.html(
        routesView(pageCtx(c), gateway, {
          query,
          error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
        }),
        400,
      );
    return c.html(routesView(pageCtx(c), gateway, { query, result: await testRoute(gateway, parsed.data) }));
  });
  app.get("/console/api/route-test", async (c) => {
    const parsed = routeTestQuery.safeParse(c.req.query());
    if (!parsed.success) return jsonError(400, parsed.error.issues[0]!.message, "invalid_query");
    return c.json(await testRoute(gateway, parsed.data));
  });

  app.get("/console/live", (c) => c.html(liveView(pageCtx(c), gateway)));
  app.get("/console/api/live/history", (c) => c.json({ turns: feed.recent(), now: Date.now() }));
  app.get("/console/api/live/events", (c) =>
    streamSSE(c, async (stream) => {
      let wake: () => void = () => {};
      const queue: string[] = [];
      const off = feed.subscribe((r) => {
        queue.push(JSON.stringify(r));
        wake();
      });
      const stop = () => {
        off();
        wake();
      };
      streams.add(stop);
      let open = true;
      stream.onAbort(() => {
        open = false;
        stop();
      });
      await stream.writeSSE({ event: "ready", data: "{}" });
      try {
        while (open && streams.has(stop)) {
          while (queue.length > 0) await stream.writeSSE({ event: "turn", data: queue.shift()! });
          const timer = new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, HEARTBEAT_MS).unref?.();
          });
          await timer;
          if (queue.length === 0 && open) await stream.write(": keep-alive\n\n");
        }
      } finally {
        streams.delete(stop);
        off();
      }
    }),
  );

  app.get("/console/platforms", (c) => {
    const { paused, resumed } = c.req.query();
    const notice = paused ? `Paused ${paused}.` : resumed ? `Resumed ${resumed}.` : undefined;
    return c.html(platformsView(pageCtx(c), gateway, notice));
  });
  for (const action of ["pause", "resume"] as const) {
    app.post(`/console/platforms/${action}`, async (c) => {
      const name = (await formOf(c.req.raw))?.get("name")?.trim();
      if (!name)
        return jsonError(400, "Say which platform or account (name=telegram/default).", "missing_name");
      const { accounts: hit, audited } = controlPlatform(gateway.ops, action, name, c.get("session").actor);
      await audited;
      if (hit.length === 0) return jsonError(404, `No running account matches "${name}".`, "not_found");
      return c.redirect(
        `/console/platforms?${action === "pause" ? "paused" : "resumed"}=${encodeURIComponent(hit.join(", "))}`,
        303,
      );
    });
  }

  app.get("/console/sessions", async (c) =>
    c.html(await sessionsView(pageCtx(c), gateway, { q: c.req.query("q"), agent: c.req.query("agent") })),
  );
  app.get("/console/sessions/:id", async (c) => {
    const session = await gateway.store.get(c.req.param("id"));
    if (!session) return c.html("<p>No such session.</p>", 404);
    return c.html(
      await sessionView(pageCtx(c), gateway, session, c.req.query("ended") ? "Session ended." : undefined),
    );
  });
  app.post("/console/sessions/:id/end", async (c) => {
    try {
      await endSession(gateway.store, c.req.param("id"), c.get("session").actor);
    } catch (err) {
      return jsonError(409, (err as Error).message, "session_not_active");
    }
    return c.redirect(`/console/sessions/${encodeURIComponent(c.req.param("id"))}?ended=1`, 303);
  });

  app.get("/console/pairing", async (c) => {
    const { approved, denied, revoked } = c.req.query();
    const notice = approved
      ? `Approved ${approved}: their next message is answered.`
      : denied
        ? `Denied ${denied}.`
        : revoked
          ? `Revoked ${revoked}: their next message is refused or asked to pair.`
          : undefined;
    return c.html(await pairingView(pageCtx(c), gateway, notice));
  });
  app.post("/console/pairing/:action", async (c) => {
    const form = await formOf(c.req.raw);
    const actor = c.get("session").actor;
    const action = c.req.param("action");
    try {
      if (action === "approve" || action === "deny") {
        const code = form?.get("code")?.trim();
        if (!code) return jsonError(400, "Say which code (code=ABCD2345).", "missing_code");
        if (action === "approve") {
          const a = await approvePairing(gateway.store, code, actor);
          return c.redirect(`/console/pairing?approved=${encodeURIComponent(userTarget(a))}`, 303);
        }
        const r = await denyPairing(gateway.store, code, actor);
        return c.redirect(
          `/console/pairing?denied=${encodeURIComponent(`${r.code} of ${userTarget(r)}`)}`,
          303,
        );
      }
      if (action === "revoke") {
        const platform = form?.get("platform")?.trim();
        const user = form?.get("user")?.trim();
        if (!platform || !user)
          return jsonError(400, "Say whose approval (platform=telegram&user=42).", "missing_user");
        await revokePairing(gateway.store, platform, user, actor);
        return c.redirect(`/console/pairing?revoked=${encodeURIComponent(`${platform}:${user}`)}`, 303);
      }
    } catch (err) {
      if (err instanceof PairingError) return jsonError(409, err.message, "pairing_not_found");
      throw err;
    }
    return jsonError(404, `No pairing action "${action}": use approve, deny or revoke.`, "unknown_url");
  });

  app.get("/console/chat", (c) => c.html(chatView(pageCtx(c), gateway, c.req.query("agent"))));
  app.post("/console/api/chat", async (c) => {
    const text = await textOf(c.req.raw, MAX_CHAT_BODY);
    if (text === undefined)
      return jsonError(413, "The conversation is too long for the console.", "too_large");
    let parsed: z.output<typeof chatBody>;
    try {
      parsed = chatBody.parse(JSON.parse(text));
    } catch {
      return jsonError(400, "Send {agent, messages: [{role, content}]}.", "invalid_body");
    }
    const headers = new Headers({ "content-type": "application/json" });
    if (parsed.conversation) headers.set("x-switchboard-session-id", parsed.conversation);
    const request = new Request(new URL("/v1/chat/completions", c.req.url), {
      method: "POST",
      headers,
      body: JSON.stringify({ model: parsed.agent, messages: parsed.messages, stream: true }),
      signal: c.req.raw.signal,
    });
    const res = await host.api(request, c.get("session").keyId);
    return new Response(res.body, {
      status: res.status,
      headers: {
        "content-type": res.headers.get("content-type") ?? "text/event-stream",
        "cache-control": "no-store",
      },
    });
  });

  app.notFound((c) =>
    isApi(c.req.path)
      ? jsonError(404, `No console endpoint ${c.req.path}.`, "unknown_url")
      : c.html("<p>Not found.</p>", 404),
  );
  app.onError((err, c) => {
    host.logger.error({ err, path: c.req.path }, "console: unhandled error");
    return isApi(c.req.path)
      ? jsonError(500, "The console had an error.", "internal_error")
      : c.html("<p>The console had an error.</p>", 500);
  });

  return {
    fetch: async (request, env) => app.fetch(request, env),
    close() {
      for (const stop of [...streams]) stop();
      streams.clear();
      feed.close();
      sessions.clear();
    },
  };
}
