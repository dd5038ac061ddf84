import { ConfigError, memoryLogger } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { jsonResponse } from "../src/http.ts";
import { createApiServer } from "../src/index.ts";
import { methods } from "../src/routes/methods.ts";
import { KEYS, postJson, startApi } from "./helpers.ts";

describe("server setup", () => {
  it("serves without keys on loopback and says so once at start", async () => {
    const logger = memoryLogger();
    const api = await startApi({ agents: { main: {} } }, { logger });
    try {
      const warnings = logger.entries.filter((e) => e.level === "warn" && /no api_server.keys/.test(e.msg));
      expect(warnings).toHaveLength(1);
      const reply = await api
        .client()
        .chat.completions.create({ model: "main", messages: [{ role: "user", content: "open" }] });
      expect(reply.choices[0]?.message.content).toBe("[main] open");
      expect(logger.entries.filter((e) => /no api_server.keys/.test(e.msg))).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it("refuses to serve without keys on a non-loopback host", async () => {
    const api = await startApi({ agents: { main: {} } });
    try {
      const config = { ...api.gateway.config.api_server, host: "0.0.0.0" };
      expect(() => createApiServer({ gateway: api.gateway, config })).toThrow(ConfigError);
      expect(() =>
        createApiServer({ gateway: api.gateway, config: { ...config, host: "127.0.0.1" } }),
      ).not.toThrow();
    } finally {
      await api.close();
    }
  });

  it("answers CORS preflights for configured origins only, exposing the Switchboard headers", async () => {
    const api = await startApi({
      agents: { main: {} },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }], cors_origins: ["https://chat.example"] },
    });
    try {
      const preflight = (origin: string) =>
        api.request("/v1/chat/completions", {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, x-switchboard-session-id",
          },
        });
      const ok = await preflight("https://chat.example");
      expect(ok.status).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://chat.example");
      expect(ok.headers.get("access-control-allow-headers")).toMatch(/x-switchboard-session-id/i);
      const other = await preflight("https://evil.example");
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const res = await postJson(
        api,
        "/v1/chat/completions",
        { model: "main", messages: [{ role: "user", content: "x" }] },
        {
          key: KEYS.admin,
          headers: { origin: "https://chat.example" },
        },
      );
      expect(res.headers.get("access-control-expose-headers")).toMatch(/X-Switchboard-Agent/i);
    } finally {
      await api.close();
    }
  });

  it("answers 429 when too many runs are in progress", async () => {
    const api = await startApi(
      { agents: { main: {} }, api_server: { keys: [{ key: KEYS.admin, agents: "*" }] } },
      { runs: { maxActivePerKey: 1 } },
    );
    try {
      const first = await postJson(api, "/v1/runs", { input: "[[sleep:5000]] busy" }, { key: KEYS.admin });
      expect(first.status).toBe(202);
      const second = await postJson(api, "/v1/runs", { input: "another" }, { key: KEYS.admin });
      expect(second.status).toBe(429);
      expect(((await second.json()) as any).error).toMatchObject({
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
      });
      const run = (await first.json()) as { id: string };
      await api.request(`/v1/runs/${run.id}/stop`, { method: "POST", key: KEYS.admin });
    } finally {
      await api.close();
    }
  });

  it("mounts extra route groups under /v1 and /agents/{id}/v1, behind the same auth", async () => {
    const api = await startApi(
      { agents: { main: {}, ops: {} }, api_server: { keys: [{ key: KEYS.admin, agents: "*" }] } },
      {
        routes: [
          (v1) =>
            methods(v1, "/extras/ping", {
              GET: (c) => jsonResponse({ object: "list", data: [], agent: c.get("pinned")?.id ?? null }),
            }),
        ],
      },
    );
    try {
      expect(await (await api.request("/v1/extras/ping", { key: KEYS.admin })).json()).toEqual({
        object: "list",
        data: [],
        agent: null,
      });
      expect(
        ((await (await api.request("/agents/ops/v1/extras/ping", { key: KEYS.admin })).json()) as any).agent,
      ).toBe("ops");
      expect((await api.request("/v1/extras/ping")).status).toBe(401);
      expect((await api.request("/v1/extras/ping", { method: "POST", key: KEYS.admin })).status).toBe(405);
    } finally {
      await api.close();
    }
  });
});
