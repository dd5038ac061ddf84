import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { principalIdOfKey } from "../src/auth.ts";
import { KEYS, postJson } from "./helpers.ts";
import { type StubApi, startStubApi, storedSessionId } from "./stub-api.ts";

const CHAT = "/v1/chat/completions";

/** Clients written for the Hermes gateway keep working: its headers, its `/p/<agent>` prefix, its capabilities. */
describe("Hermes compatibility", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi({
      routes: [{ match: { platform: "api_server", chat_id: "ops-console" }, agent: "bare" }],
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("continues a session named by X-Hermes-Session-Id, echoed as X-Switchboard-Session-Id", async () => {
    const client = s.api.client({ key: KEYS.admin, headers: { "X-Hermes-Session-Id": "hermes-s1" } });
    const first = await client.chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "remember kiwi" }] })
      .withResponse();
    expect(first.response.headers.get("x-switchboard-session-id")).toBe("hermes-s1");
    await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "what fruit?" }],
    });
    // The stored transcript is the history, as with X-Switchboard-Session-Id.
    const sent = s.stub.requests.at(-1)!.messages.filter((m) => m.role !== "system");
    expect(sent.map((m) => m.content)).toEqual(["remember kiwi", "stub: remember kiwi", "what fruit?"]);
  });

  it("routes on X-Hermes-Chat-Id and keys sessions on X-Hermes-User-Id / Thread-Id / Session-Key", async () => {
    const routed = await postJson(
      s.api,
      CHAT,
      { messages: [{ role: "user", content: "status?" }] },
      { key: KEYS.admin, headers: { "X-Hermes-Chat-Id": "ops-console", "X-Hermes-User-Id": "u7" } },
    );
    expect(routed.headers.get("x-switchboard-agent")).toBe("bare");
    const id = routed.headers.get("x-switchboard-session-id")!;
    await s.api.gateway.idle();
    const session = (await s.api.store.get(storedSessionId("bare", id)))!;
    expect(session).toMatchObject({ chatId: "ops-console", userId: "u7" });

    const keyed = await postJson(
      s.api,
      CHAT,
      { model: "main", messages: [{ role: "user", content: "scoped" }] },
      {
        key: KEYS.admin,
        headers: { "X-Hermes-Session-Key": "team-memory", "X-Hermes-Thread-Id": "t1" },
      },
    );
    await s.api.gateway.idle();
    const keyedSession = (await s.api.store.get(
      storedSessionId("main", keyed.headers.get("x-switchboard-session-id")!),
    ))!;
    expect(keyedSession.sessionKey).toBe(
      `agent:main:api_server:key:${principalIdOfKey(KEYS.admin)}:team-memory`,
    );
    expect(keyedSession.threadId).toBe("t1");
  });

  it("refuses Hermes header values with control characters (a tab survives HTTP) or over 256 characters", async () => {
    for (const name of [
      "X-Hermes-Session-Id",
      "X-Hermes-Session-Key",
      "X-Hermes-Chat-Id",
      "X-Hermes-User-Id",
      "X-Hermes-Thread-Id",
    ]) {
      const res = await postJson(
        s.api,
        CHAT,
        { model: "main", messages: [{ role: "user", content: "x" }] },
        { key: KEYS.admin, headers: { [name]: "bad\tvalue" } },
      );
      expect(res.status, name).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(name.toLowerCase());
    }
    const long = await postJson(
      s.api,
      CHAT,
      { model: "main", messages: [{ role: "user", content: "x" }] },
      { key: KEYS.admin, headers: { "X-Hermes-User-Id": "u".repeat(300) } },
    );
    expect(long.status).toBe(400);
  });

  it("serves /p/<agent>/v1/... as /agents/<agent>/v1/...", async () => {
    const client = new OpenAI({ apiKey: KEYS.admin, baseURL: `${s.api.url}/p/bare/v1`, maxRetries: 0 });
    const res = await client.chat.completions
      .create({ model: "ignored", messages: [{ role: "user", content: "via p" }] })
      .withResponse();
    expect(res.response.headers.get("x-switchboard-agent")).toBe("bare");
    expect(res.data.choices[0]!.message.content).toBe("stub: via p");
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["bare"]);
    const missing = await s.api.request("/p/nobody/v1/models", { key: KEYS.admin });
    expect(missing.status).toBe(404);
    const unauthenticated = await s.api.request("/p/bare/v1/models");
    expect(unauthenticated.status).toBe(401);
  });

  it("answers GET /v1/capabilities in the upstream shape", async () => {
    const res = await s.api.request("/v1/capabilities", { key: KEYS.admin });
    expect(res.status).toBe(200);
    const caps = (await res.json()) as Record<string, any>;
    expect(caps).toMatchObject({
      object: "hermes.api_server.capabilities",
      platform: "switchboard",
      auth: { type: "bearer", required: true },
      runtime: { mode: "server_agent", tool_execution: "server" },
      features: {
        chat_completions: true,
        responses: true,
        runs: true,
        client_tools: true,
        idempotency_key: true,
        session_continuity_header: "X-Hermes-Session-Id",
        session_key_header: "X-Hermes-Session-Key",
      },
      endpoints: { chat_completions: "/v1/chat/completions", capabilities: "/v1/capabilities" },
    });
    const pinned = (await (
      await s.api.request("/p/bare/v1/capabilities", { key: KEYS.admin })
    ).json()) as Record<string, any>;
    expect(pinned.model).toBe("bare");
    expect(pinned.endpoints.chat_completions).toBe("/agents/bare/v1/chat/completions");
  });
});
