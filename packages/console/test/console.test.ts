import { request as httpRequest } from "node:http";
import { buildConfig } from "@switchboard/core";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, cookieOf, csrfOf, login, startWorld, testConfig, USER_KEY, type World } from "./world.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = "application/x-www-form-urlencoded";

async function post(
  w: World,
  path: string,
  init: {
    cookie?: string;
    origin?: string | null;
    fields?: Record<string, string>;
    headers?: Record<string, string>;
  },
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": FORM, ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  if (init.origin !== null) headers.origin = init.origin ?? w.url;
  return fetch(`${w.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers,
    body: form(init.fields ?? {}),
  });
}

describe("console login", () => {
  it("sends a request without a session to the login page, and refuses its API and edits", async () => {
    world = await startWorld();
    const page = await fetch(`${world.url}/console/agents`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/console/login");
    const api = await fetch(`${world.url}/console/api/live/history`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("login_required");
    const edit = await post(world, "/console/platforms/pause", { fields: { name: "test" } });
    expect(edit.status).toBe(401);
    expect(world.gateway.ops.breaker("test", "default").state).not.toBe("paused");
  });

  it("refuses a key without admin: true and a key that is not configured", async () => {
    world = await startWorld();
    const user = await login(world, USER_KEY);
    expect(user.status).toBe(403);
    expect(user.headers.get("set-cookie")).toBeNull();
    expect(await user.text()).toContain("not an admin key");
    const unknown = await login(world, "sk-nobody-0123456789");
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("set-cookie")).toBeNull();
  });

  it("makes an address that keeps guessing keys wait, with Retry-After", async () => {
    world = await startWorld();
    for (let i = 0; i < 10; i++) expect((await login(world, `sk-guess-${i}-0123456789`)).status).toBe(401);
    const blocked = await login(world, ADMIN_KEY);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.headers.get("set-cookie")).toBeNull();
  });

  it("sets an HttpOnly, SameSite=Strict cookie for /console, Secure behind a TLS proxy, and audits the login", async () => {
    world = await startWorld();
    const res = await login(world);
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/console(;|$)/);
    expect(cookie).not.toMatch(/Secure/);
    const page = await fetch(`${world.url}/console/agents`, { headers: { cookie: cookieOf(res) } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const tls = await fetch(`${world.url}/console/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: world.url, "content-type": FORM, "x-forwarded-proto": "https" },
      body: form({ key: ADMIN_KEY }),
    });
    expect(tls.headers.get("set-cookie")).toMatch(/; Secure$/);
    expect((await world.store.audit.list({ action: "console.login" })).map((e) => e.actor)).toContain(
      "console:operator",
    );
  });

  it("refuses a cross-site login and a foreign Host", async () => {
    world = await startWorld();
    const cross = await fetch(`${world.url}/console/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: "http://evil.example", "content-type": FORM },
      body: form({ key: ADMIN_KEY }),
    });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(`${world!.url}/console/login`, { headers: { host: "evil.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it("ends the sessions of a key that a reload takes away", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const raw = testConfig({ api_server: { keys: [{ key: USER_KEY, agents: ["main"] }] } });
    world.gateway.reconfigure(
      buildConfig(raw, { file: undefined, home: world.home, env: {}, platforms: {} }),
    );
    const page = await fetch(`${world.url}/console/agents`, { headers: { cookie }, redirect: "manual" });
    expect(page.status).toBe(303);
  });
});

describe("console edits", () => {
  it("refuses a cross-site POST even from an origin the API allows, and a POST without the CSRF token", async () => {
    const base = testConfig();
    const api_server = { ...(base.api_server as object), cors_origins: ["http://evil.example"] };
    world = await startWorld({ ...base, api_server });
    const cookie = cookieOf(await login(world));
    const csrf = await csrfOf(world, cookie);
    const cross = await post(world, "/console/platforms/pause", {
      cookie,
      origin: "http://evil.example",
      fields: { name: "test", csrf },
    });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe("cross_origin_refused");
    const noOrigin = await post(world, "/console/platforms/pause", {
      cookie,
      origin: null,
      fields: { name: "test", csrf },
    });
    expect(noOrigin.status).toBe(403);
    const noToken = await post(world, "/console/platforms/pause", { cookie, fields: { name: "test" } });
    expect(noToken.status).toBe(403);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe("csrf_mismatch");
    expect(world.gateway.ops.breaker("test", "default").state).not.toBe("paused");
    expect(await world.store.audit.list({ action: "platform.pause" })).toHaveLength(0);
  });

  it("pauses and resumes an account through core's controlPlatform, in the audit log", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const csrf = await csrfOf(world, cookie);
    const paused = await post(world, "/console/platforms/pause", {
      cookie,
      fields: { name: "test/default", csrf },
    });
    expect(paused.status).toBe(303);
    expect(world.gateway.ops.breaker("test", "default").state).toBe("paused");
    const page = await (
      await fetch(`${world.url}${paused.headers.get("location")}`, { headers: { cookie } })
    ).text();
    expect(page).toContain("Paused test/default");
    expect(page).toContain("Resume test/default");
    await post(world, "/console/platforms/resume", { cookie, fields: { name: "test/default", csrf } });
    expect(world.gateway.ops.breaker("test", "default").state).not.toBe("paused");
    const audit = await world.store.audit.list({});
    expect(
      audit.filter((e) => e.action.startsWith("platform.")).map((e) => [e.action, e.actor, e.target]),
    ).toEqual(
      expect.arrayContaining([
        ["platform.pause", "console:operator", "test/default"],
        ["platform.resume", "console:operator", "test/default"],
      ]),
    );
  });

  it("shows an account's state and how often it reconnected", async () => {
    world = await startWorld();
    world.adapter.report("reconnecting", "socket closed");
    world.adapter.report("connected");
    world.adapter.report("reconnecting", "socket closed");
    world.adapter.report("connected");
    const cookie = cookieOf(await login(world));
    const page = await (await fetch(`${world.url}/console/platforms`, { headers: { cookie } })).text();
    expect(page).toMatch(/test\/default[\s\S]*state-connected[\s\S]*<td class="num">2<\/td>/);
  });

  it("ends a session through core's endSession, in the audit log", async () => {
    world = await startWorld();
    const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${world.url}/v1`, maxRetries: 0 });
    const reply = await client.chat.completions
      .create({ model: "support", messages: [{ role: "user", content: "where is my parcel" }] })
      .withResponse();
    expect(reply.data.choices[0]?.message.content).toContain("parcel");
    const sessionId = (await world.store.list({ agentId: "support" }))[0]!.id;
    const cookie = cookieOf(await login(world));
    const csrf = await csrfOf(world, cookie);
    const found = await (
      await fetch(`${world.url}/console/sessions?q=parcel`, { headers: { cookie } })
    ).text();
    expect(found).toContain(`href="/console/sessions/${encodeURIComponent(sessionId)}"`);
    const ended = await post(world, `/console/sessions/${sessionId}/end`, { cookie, fields: { csrf } });
    expect(ended.status).toBe(303);
    expect((await world.store.get(sessionId))?.endedAt).not.toBeNull();
    expect((await world.store.audit.list({ action: "session.end" }))[0]).toMatchObject({
      actor: "console:operator",
      target: sessionId,
    });
    const again = await post(world, `/console/sessions/${sessionId}/end`, { cookie, fields: { csrf } });
    expect(again.status).toBe(409);
  });
});

describe("pairing", () => {
  it("answers an unknown code with core's explanation and writes nothing", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const csrf = await csrfOf(world, cookie);
    const res = await post(world, "/console/pairing/approve", { cookie, fields: { code: "ZZZZ2222", csrf } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      "no pending pairing request has the code ZZZZ2222",
    );
    expect(await world.store.audit.list({ action: "pairing.approve" })).toHaveLength(0);
    const page = await (await fetch(`${world.url}/console/pairing`, { headers: { cookie } })).text();
    expect(page).toContain("No pending pairing requests.");
  });
});

describe("the open loopback console", () => {
  it("shows the banner without a login and still refuses a POST that is not same-origin", async () => {
    world = await startWorld(testConfig({ api_server: {} }));
    const page = await fetch(`${world.url}/console/agents`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Open console.");
    const cookie = cookieOf(page);
    const csrf = await csrfOf(world, cookie);
    const noOrigin = await post(world, "/console/platforms/pause", {
      cookie,
      origin: null,
      fields: { name: "test", csrf },
    });
    expect(noOrigin.status).toBe(403);
    const cross = await post(world, "/console/platforms/pause", {
      cookie,
      origin: "http://evil.example",
      fields: { name: "test", csrf },
    });
    expect(cross.status).toBe(403);
    const same = await post(world, "/console/platforms/pause", { cookie, fields: { name: "test", csrf } });
    expect(same.status).toBe(303);
    expect((await world.store.audit.list({ action: "platform.pause" }))[0]?.actor).toBe("console:open");
  });
});

describe("console views", () => {
  it("explains a route as switchboard route test does, and marks the shadowed route", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const res = await fetch(`${world.url}/console/api/route-test?platform=test&chat_id=help&user_id=7`, {
      headers: { cookie },
    });
    expect(await res.json()).toEqual({
      agent: "support",
      by: "route",
      route: 0,
      plugin: null,
      rule: "routes[0]",
      match: "platform=test chat_id=help",
    });
    const page = await (await fetch(`${world.url}/console/routes`, { headers: { cookie } })).text();
    expect(page).toContain("shadowed by routes[0]");
  });

  it("shows an agent's files escaped, read-only", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const page = await (await fetch(`${world.url}/console/agents/ops`, { headers: { cookie } })).text();
    expect(page).toContain("You are Ops, the on-call agent. &lt;b&gt;not bold&lt;/b&gt;");
    expect(page).toContain("The staging cluster is eu-west.");
    expect(page).toContain("deploy");
    // The cron job with its next run and its last output.
    expect(page).toMatch(/disk check[\s\S]*every 1h[\s\S]*<time datetime="\d{4}-/);
    expect(page).toContain("All disks below 70%.");
  });

  it("lists an agent's MCP servers and routes, and its budget bar", async () => {
    world = await startWorld();
    const cookie = cookieOf(await login(world));
    const page = await (await fetch(`${world.url}/console/agents`, { headers: { cookie } })).text();
    expect(page).toContain("files: not started");
    expect(page).toContain("routes[1], routes[2]");
    expect(page).toMatch(/<meter[^>]*value="0"/);
  });
});

describe("loading", () => {
  it("loads the console on the first /console request only, once for concurrent requests", async () => {
    const { createApiServer } = await import("@switchboard/api-server");
    const { createConsole } = await import("../src/index.ts");
    world = await startWorld();
    let loads = 0;
    const api = createApiServer({
      gateway: world.gateway,
      console: async (host) => {
        loads++;
        await new Promise((r) => setTimeout(r, 20));
        return createConsole(host);
      },
    });
    try {
      await api.fetch(new Request("http://127.0.0.1/health"));
      await api.fetch(
        new Request("http://127.0.0.1/v1/models", { headers: { authorization: `Bearer ${ADMIN_KEY}` } }),
      );
      expect(loads).toBe(0);
      const pages = await Promise.all(
        [1, 2, 3].map(() => api.fetch(new Request("http://127.0.0.1/console/login"))),
      );
      expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
      expect(loads).toBe(1);
    } finally {
      api.close();
    }
  });

  it("answers 404 at /console with api_server.console: false, without loading it", async () => {
    const { createApiServer } = await import("@switchboard/api-server");
    world = await startWorld();
    const raw = testConfig({ api_server: { ...(testConfig().api_server as object), console: false } });
    world.gateway.reconfigure(
      buildConfig(raw, { file: undefined, home: world.home, env: {}, platforms: {} }),
    );
    let loads = 0;
    const api = createApiServer({
      gateway: world.gateway,
      console: async () => {
        loads++;
        throw new Error("must not load");
      },
    });
    try {
      const res = await api.fetch(new Request("http://127.0.0.1/console/login"));
      expect(res.status).toBe(404);
      expect(loads).toBe(0);
    } finally {
      api.close();
    }
  });
});
