import { CronManager } from "@switchboard/core";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { KEYS, recordingRunner, startApi, type TestApi } from "./helpers.ts";
import { rawRequest } from "./raw-http.ts";

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const CHAT_BODY = JSON.stringify({ model: "main", messages: [{ role: "user", content: "hi" }] });
const JOB_BODY = JSON.stringify({ schedule: "every 1h", prompt: "exfiltrate" });

async function startWithCron(raw: Record<string, unknown>) {
  const runner = recordingRunner();
  api = await startApi(raw, { runner });
  const cron = new CronManager({ config: () => api!.gateway.config, router: () => api!.gateway.router });
  api.gateway.setCron(cron);
  return { api, runner, cron };
}

const errorOf = (body: string) => (JSON.parse(body) as { error: Record<string, unknown> }).error;

/** Header names a browser lets through without asking: the rest must be allowed by the preflight. */
const SAFELISTED = new Set(["accept", "accept-language", "content-language"]);
/** Headers only the browser itself sets; a page's script cannot. */
const BROWSER_OWNED = new Set(["origin", "user-agent", "content-length", "host", "connection"]);

/**
 * `fetch` as a browser page at `origin` performs it: a CORS preflight first (the real OPTIONS request, listing
 * every non-safelisted header the caller set), then the request, whose response the page may read only when
 * it carries `Access-Control-Allow-Origin`. A refusal surfaces as the browser's opaque `TypeError`.
 */
function browserFetch(origin: string, seen: { preflights: number; asked: Set<string> }): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    const method = init?.method ?? "GET";
    const asked = [...headers.keys()].filter((h) => !SAFELISTED.has(h) && !BROWSER_OWNED.has(h)).sort();
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": method,
        "access-control-request-headers": asked.join(","),
      },
    });
    await preflight.arrayBuffer();
    seen.preflights++;
    for (const h of asked) seen.asked.add(h);
    const allowedHeaders = (preflight.headers.get("access-control-allow-headers") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/);
    const allowedMethods = (preflight.headers.get("access-control-allow-methods") ?? "").split(/\s*,\s*/);
    if (
      !preflight.ok ||
      preflight.headers.get("access-control-allow-origin") !== origin ||
      !allowedMethods.includes(method) ||
      asked.some((h) => !allowedHeaders.includes(h))
    ) {
      throw new TypeError("Failed to fetch");
    }
    headers.set("origin", origin);
    const res = await fetch(url, { ...init, headers });
    if (res.headers.get("access-control-allow-origin") !== origin) throw new TypeError("Failed to fetch");
    return res;
  };
}

describe("the browser boundary", () => {
  it("refuses a Host that is not a loopback name with 421 in OpenAI's shape, on every route, keys or not", async () => {
    const { api, runner } = await startWithCron({ agents: { main: {} } });
    for (const path of ["/health", "/v1/models"]) {
      const res = await rawRequest(`${api.url}${path}`, { headers: { host: "evil.example" } });
      expect(res.status, path).toBe(421);
      expect(errorOf(res.body)).toMatchObject({
        type: "invalid_request_error",
        code: "host_not_allowed",
        param: null,
      });
    }
    // A DNS-rebinding page's POST: refused before a turn runs.
    const post = await rawRequest(`${api.url}/v1/chat/completions`, {
      method: "POST",
      headers: { host: "evil.example:8642", "content-type": "application/json" },
      body: CHAT_BODY,
    });
    expect(post.status).toBe(421);
    expect(runner.turns).toHaveLength(0);
    for (const host of ["localhost:9999", "127.0.0.1", "[::1]:8642", "LOCALHOST"]) {
      const ok = await rawRequest(`${api.url}/v1/models`, { headers: { host } });
      expect(ok.status, host).toBe(200);
    }
  });

  it("serves the names in api_server.allowed_hosts, and still refuses others when keys are set", async () => {
    api = await startApi({
      agents: { main: {} },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }], allowed_hosts: ["gw.example"] },
    });
    const auth = { authorization: `Bearer ${KEYS.admin}` };
    const allowed = await rawRequest(`${api.url}/v1/models`, {
      headers: { host: "gw.example:8642", ...auth },
    });
    expect(allowed.status).toBe(200);
    const other = await rawRequest(`${api.url}/v1/models`, { headers: { host: "evil.example", ...auth } });
    expect(other.status).toBe(421);
  });

  it("answers 415 to a JSON endpoint posted as text/plain or a form, before a turn or a cron job exists", async () => {
    const { api, runner, cron } = await startWithCron({ agents: { main: {} } });
    const cases: Array<[string, string, string]> = [
      ["/v1/chat/completions", "text/plain;charset=UTF-8", CHAT_BODY],
      ["/v1/responses", "application/x-www-form-urlencoded", JSON.stringify({ input: "hi" })],
      ["/v1/runs", "multipart/form-data; boundary=x", JSON.stringify({ input: "hi" })],
      ["/v1/cron/jobs", "text/plain", JOB_BODY],
    ];
    for (const [path, type, body] of cases) {
      const res = await api.request(path, { method: "POST", headers: { "content-type": type }, body });
      expect(res.status, path).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
    }
    expect(runner.turns).toHaveLength(0);
    expect(await cron.list("main")).toEqual([]);
    const json = await api.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: CHAT_BODY,
    });
    expect(json.status).toBe(200);
  });

  it("refuses a request whose Origin is not in cors_origins with 403, before anything runs", async () => {
    const { api, runner, cron } = await startWithCron({ agents: { main: {} } });
    const evil = { origin: "https://evil.example", "content-type": "application/json" };
    const chat = await api.request("/v1/chat/completions", {
      method: "POST",
      headers: evil,
      body: CHAT_BODY,
    });
    expect(chat.status).toBe(403);
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe("origin_not_allowed");
    const job = await api.request("/v1/cron/jobs", { method: "POST", headers: evil, body: JOB_BODY });
    expect(job.status).toBe(403);
    const read = await api.request("/v1/models", { headers: { origin: "https://evil.example" } });
    expect(read.status).toBe(403);
    expect(read.headers.get("access-control-allow-origin")).toBeNull();
    const nullOrigin = await api.request("/v1/models", { headers: { origin: "null" } });
    expect(nullOrigin.status).toBe(403);
    expect(runner.turns).toHaveLength(0);
    expect(await cron.list("main")).toEqual([]);
    const preflight = await api.request("/v1/chat/completions", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets the official openai SDK run in a page at an allowed origin: preflights allow every header it sends", async () => {
    api = await startApi({
      agents: { main: {} },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }], cors_origins: ["https://chat.example"] },
    });
    const seen = { preflights: 0, asked: new Set<string>() };
    const client = new OpenAI({
      apiKey: KEYS.admin,
      baseURL: `${api.url}/v1`,
      dangerouslyAllowBrowser: true,
      maxRetries: 0,
      timeout: 10_000,
      defaultHeaders: { "X-Switchboard-Session-Id": "browser-1" },
      fetch: browserFetch("https://chat.example", seen),
    });
    const reply = await client.chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "from a page" }] })
      .withResponse();
    expect(reply.data.choices[0]?.message.content).toBe("[main] from a page");
    // The exposed headers are readable from the page.
    expect(reply.response.headers.get("access-control-expose-headers")).toMatch(/x-switchboard-session-id/i);
    expect(reply.response.headers.get("x-switchboard-session-id")).toBe("browser-1");
    const stream = await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "streamed" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("[main] streamed");
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["main"]);
    const response = await client.responses.create({ model: "main", input: "responses too" });
    expect(response.output_text).toBe("[main] responses too");
    expect(seen.preflights).toBe(4);
    expect([...seen.asked].filter((h) => h.startsWith("x-stainless-")).length).toBeGreaterThan(0);
    expect(seen.asked).toContain("authorization");

    // An error still reaches the page as an API error, not a connection failure.
    const badKey = new OpenAI({
      apiKey: "sk-wrong-0123456789",
      baseURL: `${api.url}/v1`,
      dangerouslyAllowBrowser: true,
      maxRetries: 0,
      fetch: browserFetch("https://chat.example", seen),
    });
    await expect(badKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    // The same SDK at another origin is refused.
    const elsewhere = new OpenAI({
      apiKey: KEYS.admin,
      baseURL: `${api.url}/v1`,
      dangerouslyAllowBrowser: true,
      maxRetries: 0,
      defaultHeaders: { Origin: "https://evil.example" },
    });
    await expect(elsewhere.models.list()).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});
