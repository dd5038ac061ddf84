import { buildConfig, ConfigError } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { postJson, recordingRunner, startApi, type TestApi } from "./helpers.ts";

const A = "sk-key-a-0123456789";
const B = "sk-key-b-0123456789";
let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Swap the live config, as a reload does. */
function reload(api: TestApi, raw: Record<string, unknown>): void {
  api.gateway.reconfigure(
    buildConfig(raw, { file: undefined, home: api.gateway.config.home, env: {}, platforms: {} }),
  );
}

async function createResponse(api: TestApi, key: string, model: string): Promise<string> {
  const res = await postJson(api, "/v1/responses", { model, input: "remember this" }, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

async function createRun(api: TestApi, key: string, model: string): Promise<string> {
  const res = await postJson(api, "/v1/runs", { model, input: "[[sleep:5000]] long" }, { key });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Every way a key reaches a response or run: each must answer not-found. */
async function expectNoAccess(api: TestApi, key: string, responseId: string, runId: string) {
  expect((await api.request(`/v1/responses/${responseId}`, { key })).status).toBe(404);
  expect((await api.request(`/v1/responses/${responseId}`, { key, method: "DELETE" })).status).toBe(404);
  const cont = await postJson(
    api,
    "/v1/responses",
    { input: "go on", previous_response_id: responseId },
    { key },
  );
  expect(cont.status).toBe(400);
  expect(((await cont.json()) as { error: { code: string } }).error.code).toBe("response_not_found");
  expect((await api.request(`/v1/runs/${runId}`, { key })).status).toBe(404);
  expect((await api.request(`/v1/runs/${runId}/events`, { key })).status).toBe(404);
  expect((await api.request(`/v1/runs/${runId}/stop`, { key, method: "POST" })).status).toBe(404);
}

describe("keys own what they create", () => {
  it("after an agent is removed from a key, the key gets 404 on that agent's earlier responses and runs", async () => {
    const raw = (agents: string[]) => ({
      agents: { main: {}, ops: {} },
      api_server: { keys: [{ key: A, agents }] },
    });
    api = await startApi(raw(["main", "ops"]));
    const responseId = await createResponse(api, A, "ops");
    const runId = await createRun(api, A, "ops");
    expect((await api.request(`/v1/responses/${responseId}`, { key: A })).status).toBe(200);
    expect((await api.request(`/v1/runs/${runId}`, { key: A })).status).toBe(200);

    reload(api, raw(["main"]));
    await expectNoAccess(api, A, responseId, runId);
    // Given back, the agent's responses are the key's again: ownership never moved.
    reload(api, raw(["main", "ops"]));
    expect((await api.request(`/v1/responses/${responseId}`, { key: A })).status).toBe(200);
    await api.request(`/v1/runs/${runId}/stop`, { key: A, method: "POST" });
  });

  it("a new key in an old key's slot, with its name, sees nothing the old key created", async () => {
    const runner = recordingRunner();
    const raw = (key: string) => ({
      agents: { main: {} },
      api_server: { keys: [{ key, name: "webui", agents: "*" }] },
    });
    api = await startApi(raw(A), { runner });
    const responseId = await createResponse(api, A, "main");
    const runId = await createRun(api, A, "main");
    const headers = { "X-Switchboard-Session-Id": "conv-1" };
    const first = await postJson(
      api,
      "/v1/chat/completions",
      { messages: [{ role: "user", content: "my secret is 42" }] },
      { key: A, headers },
    );
    expect(first.status).toBe(200);

    reload(api, raw(B));
    expect((await api.request("/v1/models", { key: A })).status).toBe(401);
    await expectNoAccess(api, B, responseId, runId);
    const second = await postJson(
      api,
      "/v1/chat/completions",
      { messages: [{ role: "user", content: "what is my secret?" }] },
      { key: B, headers },
    );
    expect(second.status).toBe(200);
    expect(runner.turns.at(-1)!.history).toEqual([]);
    reload(api, raw(A));
    await api.request(`/v1/runs/${runId}/stop`, { key: A, method: "POST" });
  });

  it("namespaces X-Switchboard-Session-Id by key: the same id from two keys is two sessions", async () => {
    const runner = recordingRunner();
    api = await startApi(
      {
        agents: { main: {} },
        api_server: {
          keys: [
            { key: A, agents: "*" },
            { key: B, agents: "*" },
          ],
        },
      },
      { runner },
    );
    const headers = { "X-Switchboard-Session-Id": "shared-id" };
    const say = async (key: string, content: string) => {
      const res = await postJson(
        api!,
        "/v1/chat/completions",
        { messages: [{ role: "user", content }] },
        { key, headers },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("x-switchboard-session-id")).toBe("shared-id");
      return runner.turns.at(-1)!;
    };
    const a1 = await say(A, "apples");
    const b1 = await say(B, "bananas");
    const a2 = await say(A, "which fruit?");
    expect(b1.sessionId).not.toBe(a1.sessionId);
    expect(b1.history).toEqual([]);
    expect(a2.sessionId).toBe(a1.sessionId);
    expect(a2.history.map((m) => m.content)).toEqual(["apples", "[main] apples"]);
  });

  it("limits active runs per key: one key at its limit does not block another", async () => {
    api = await startApi({
      agents: { main: {} },
      api_server: {
        max_active_runs_per_key: 1,
        keys: [
          { key: A, agents: "*" },
          { key: B, agents: "*" },
        ],
      },
    });
    const first = await createRun(api, A, "main");
    const again = await postJson(api, "/v1/runs", { input: "more" }, { key: A });
    expect(again.status).toBe(429);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/this API key/);
    const other = await createRun(api, B, "main");
    for (const [key, id] of [
      [A, first],
      [B, other],
    ] as const) {
      await api.request(`/v1/runs/${id}/stop`, { key, method: "POST" });
    }
  });

  it("refuses two keys with the same name, naming both paths", () => {
    const build = () =>
      buildConfig(
        {
          api_server: {
            keys: [
              { key: A, name: "webui" },
              { key: B, name: "ops" },
              { key: "sk-key-c-0123456789", name: "webui" },
            ],
          },
        },
        { file: undefined, home: "/tmp/unused", env: {}, platforms: {} },
      );
    expect(build).toThrow(ConfigError);
    try {
      build();
    } catch (err) {
      const issue = (err as ConfigError).issues.find((i) => i.path === "api_server.keys[2].name");
      expect(issue?.message).toContain("api_server.keys[0]");
    }
  });
});
