import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse, recordingRunner, startApi, type TestApi } from "./helpers.ts";

const runner = recordingRunner();
const CONFIG = {
  default_agent: "main",
  agents: { main: {}, support: {}, ops: {}, helpdesk: {} },
  routes: [
    { match: { platform: "api_server", chat_id: "ops-console" }, agent: "ops" },
    { match: { platform: "api_server", user_id: "vip-7" }, agent: "helpdesk" },
  ],
  api_server: { keys: [{ key: KEYS.admin, agents: "*" }] },
};

const lastTurn = () => runner.turns[runner.turns.length - 1]!;

describe("chat completions", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(CONFIG, { runner });
  });
  afterAll(async () => {
    await api.close();
  });

  it("selects two different agents by model in one server", async () => {
    const client = api.client({ key: KEYS.admin });
    const a = await client.chat.completions.create({
      model: "support",
      messages: [{ role: "user", content: "hello" }],
    });
    const b = await client.chat.completions.create({
      model: "switchboard/ops",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(a.choices[0]?.message.content).toBe("[support] hello");
    expect(a.model).toBe("support");
    expect(a.object).toBe("chat.completion");
    expect(a.choices[0]?.finish_reason).toBe("stop");
    expect(a.usage?.total_tokens).toBeGreaterThan(0);
    expect(b.choices[0]?.message.content).toBe("[ops] hello");
  });

  it("pins the agent by the /agents/{id}/v1 path prefix, whatever the model says", async () => {
    const client = api.client({ key: KEYS.admin, agent: "helpdesk" });
    const r = await client.chat.completions.create({
      model: "support",
      messages: [{ role: "user", content: "who?" }],
    });
    expect(r.choices[0]?.message.content).toBe("[helpdesk] who?");
  });

  it("routes by X-Switchboard-Chat-Id through a platform: api_server route", async () => {
    const client = api.client({
      key: KEYS.admin,
      headers: { "X-Switchboard-Chat-Id": "ops-console", "X-Switchboard-User-Id": "u1" },
    });
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "status" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("[ops] status");
    expect(response.headers.get("x-switchboard-agent")).toBe("ops");
  });

  it("routes by X-Switchboard-User-Id, and falls back to the default agent without headers", async () => {
    const vip = api.client({ key: KEYS.admin, headers: { "X-Switchboard-User-Id": "vip-7" } });
    const r1 = await vip.chat.completions.create({
      model: "unknown-model",
      messages: [{ role: "user", content: "x" }],
    });
    expect(r1.choices[0]?.message.content).toBe("[helpdesk] x");
    const plain = api.client({ key: KEYS.admin });
    const r2 = await plain.chat.completions.create({
      model: "unknown-model",
      messages: [{ role: "user", content: "y" }],
    });
    expect(r2.choices[0]?.message.content).toBe("[main] y");
  });

  it("streams chat.completion.chunk events through the openai client, role chunk first", async () => {
    const client = api.client({ key: KEYS.admin });
    const stream = await client.chat.completions.create({
      model: "support",
      messages: [{ role: "user", content: "one two three" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("[support] one two three");
    // Several content chunks, not one: the reply is really streamed.
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(2);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish?.choices[0]?.finish_reason).toBe("stop");
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBeGreaterThan(0);
    for (const c of chunks) expect(c.object).toBe("chat.completion.chunk");
  });

  it("ends the SSE stream with data: [DONE], and leaves usage out unless asked", async () => {
    const res = await postJson(
      api,
      "/v1/chat/completions",
      { model: "main", stream: true, messages: [{ role: "user", content: "hi" }] },
      { key: KEYS.admin },
    );
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-switchboard-agent")).toBe("main");
    expect(res.headers.get("x-switchboard-session-id")).toMatch(/^api-[0-9a-f]{16}$/);
    const frames = await readSse(res);
    expect(frames[frames.length - 1]?.data).toBe("[DONE]");
    for (const f of frames.slice(0, -1)) expect(JSON.parse(f.data)).not.toHaveProperty("usage");
  });

  it("sends an error chunk and then [DONE] when the agent fails mid-stream", async () => {
    const res = await postJson(
      api,
      "/v1/chat/completions",
      { model: "main", stream: true, messages: [{ role: "user", content: "go [[fail-after-first]]" }] },
      { key: KEYS.admin },
    );
    const frames = await readSse(res);
    expect(frames[frames.length - 1]?.data).toBe("[DONE]");
    const error = JSON.parse(frames[frames.length - 2]!.data);
    expect(error.error).toMatchObject({
      message: "the model provider failed",
      type: "server_error",
      code: "provider_error",
    });
    // The openai client surfaces it as an error.
    const client = api.client({ key: KEYS.admin });
    const stream = await client.chat.completions.create({
      model: "main",
      stream: true,
      messages: [{ role: "user", content: "[[fail-after-first]]" }],
    });
    await expect(async () => {
      for await (const _ of stream) {
        // drain
      }
    }).rejects.toThrow(/the model provider failed/);
  });

  it("answers a non-streaming agent failure with a 500 in OpenAI's error shape", async () => {
    const res = await postJson(
      api,
      "/v1/chat/completions",
      { model: "main", messages: [{ role: "user", content: "[[fail-after-first]]" }] },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: {
        message: "the model provider failed",
        type: "server_error",
        param: null,
        code: "provider_error",
      },
    });
  });

  it("layers system messages on top of the agent's prompt and passes earlier messages as history", async () => {
    const client = api.client({ key: KEYS.admin });
    await client.chat.completions.create({
      model: "support",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "developer", content: "Answer in English." },
        { role: "user", content: "first" },
        { role: "assistant", content: "[support] first" },
        { role: "user", content: "second" },
        { role: "user", content: "third" },
      ],
    });
    const t = lastTurn();
    expect(t.agentId).toBe("support");
    expect(t.extraSystem).toBe("Be terse.\n\nAnswer in English.");
    expect(t.history).toEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "[support] first" },
    ]);
    expect(t.input).toEqual([
      { role: "user", content: "second" },
      { role: "user", content: "third" },
    ]);
  });

  it("accepts text and image content parts", async () => {
    const client = api.client({ key: KEYS.admin });
    const png = "data:image/png;base64,iVBORw0KGgo=";
    await client.chat.completions.create({
      model: "main",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: png, detail: "low" } },
          ],
        },
      ],
    });
    expect(lastTurn().input).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image", url: png, mimeType: "image/png" },
        ],
      },
    ]);
  });
});

describe("chat sessions", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(CONFIG, { runner });
  });
  afterAll(async () => {
    await api.close();
  });

  it("continues a stored session with X-Switchboard-Session-Id, history from the store", async () => {
    const client = api.client({ key: KEYS.admin, headers: { "X-Switchboard-Session-Id": "conv-42" } });
    const first = await client.chat.completions
      .create({ model: "support", messages: [{ role: "user", content: "remember apples" }] })
      .withResponse();
    expect(first.response.headers.get("x-switchboard-session-id")).toBe("conv-42");
    await client.chat.completions.create({
      model: "support",
      messages: [{ role: "user", content: "what fruit?" }],
    });
    const t = lastTurn();
    expect(t.history.map((m) => m.content)).toEqual(["remember apples", "[support] remember apples"]);
    // Namespaced by agent and by the key's identity (a hash of its value), never by the id alone.
    expect(t.sessionKey).toMatch(/^agent:support:api_server:session:k[0-9a-f]{24}:conv-42$/);
    await api.gateway.idle();
    const stored = (await api.store.history(t.sessionId)).map((m) => m.content);
    expect(stored).toEqual([
      "remember apples",
      "[support] remember apples",
      "what fruit?",
      "[support] what fruit?",
    ]);
  });

  it("keeps the same session id sent to two agents as two separate sessions", async () => {
    const client = api.client({ key: KEYS.admin, headers: { "X-Switchboard-Session-Id": "shared-id" } });
    await client.chat.completions.create({
      model: "support",
      messages: [{ role: "user", content: "secret of support" }],
    });
    const supportSession = lastTurn().sessionId;
    await client.chat.completions.create({
      model: "ops",
      messages: [{ role: "user", content: "hello ops" }],
    });
    const opsTurn = lastTurn();
    expect(opsTurn.sessionId).not.toBe(supportSession);
    expect(opsTurn.history).toEqual([]);
    await api.gateway.idle();
    expect((await api.store.get(supportSession))?.agentId).toBe("support");
    expect((await api.store.get(opsTurn.sessionId))?.agentId).toBe("ops");
  });

  it("stores a body-history conversation under one stable derived session id across turns", async () => {
    const client = api.client({ key: KEYS.admin });
    const r1 = await client.chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "open webui style" }] })
      .withResponse();
    const id1 = r1.response.headers.get("x-switchboard-session-id");
    const r2 = await client.chat.completions
      .create({
        model: "main",
        messages: [
          { role: "user", content: "open webui style" },
          { role: "assistant", content: r1.data.choices[0]!.message.content! },
          { role: "user", content: "next" },
        ],
      })
      .withResponse();
    expect(r2.response.headers.get("x-switchboard-session-id")).toBe(id1);
    const sessionId = lastTurn().sessionId;
    await api.gateway.idle();
    expect((await api.store.history(sessionId)).map((m) => m.content)).toEqual([
      "open webui style",
      "[main] open webui style",
      "next",
      "[main] next",
    ]);
    // The same opening sent to another agent is another session.
    const r3 = await client.chat.completions
      .create({ model: "ops", messages: [{ role: "user", content: "open webui style" }] })
      .withResponse();
    expect(r3.response.headers.get("x-switchboard-session-id")).not.toBe(id1);
  });
});
