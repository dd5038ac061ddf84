import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse, recordingRunner, startApi, type TestApi } from "./helpers.ts";

const runner = recordingRunner();
const CONFIG = {
  agents: { main: {}, support: {}, ops: {} },
  api_server: {
    keys: [
      { key: KEYS.admin, agents: "*" },
      { key: KEYS.webui, name: "webui", agents: "*" },
    ],
  },
};
const lastTurn = () => runner.turns[runner.turns.length - 1]!;

describe("responses", () => {
  let api: TestApi;
  let client: OpenAI;
  beforeAll(async () => {
    api = await startApi(CONFIG, { runner });
    client = api.client({ key: KEYS.admin });
  });
  afterAll(async () => {
    await api.close();
  });

  it("answers input text with instructions layered on the agent's prompt", async () => {
    const r = await client.responses.create({
      model: "support",
      input: "hello there",
      instructions: "Be brief.",
    });
    expect(r.object).toBe("response");
    expect(r.status).toBe("completed");
    expect(r.model).toBe("support");
    expect(r.output_text).toBe("[support] hello there");
    expect(r.id).toMatch(/^resp_/);
    expect(r.usage?.output_tokens).toBeGreaterThan(0);
    expect(lastTurn().extraSystem).toBe("Be brief.");
  });

  it("takes input items: system text, earlier messages as history, the last user message as input", async () => {
    await client.responses.create({
      model: "ops",
      input: [
        { role: "developer", content: "Use bullet points." },
        { role: "user", content: "a" },
        { role: "assistant", content: "[ops] a" },
        { role: "user", content: [{ type: "input_text", text: "b" }] },
      ],
    });
    const t = lastTurn();
    expect(t.extraSystem).toBe("Use bullet points.");
    expect(t.history).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "[ops] a" },
    ]);
    expect(t.input).toEqual([{ role: "user", content: "b" }]);
  });

  it("streams response.created, output_text deltas, output_text.done and response.completed", async () => {
    const stream = await client.responses.create({
      model: "support",
      input: "stream me please",
      stream: true,
    });
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("response.created");
    expect(types[types.length - 1]).toBe("response.completed");
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((e) => (e as { delta: string }).delta).join("")).toBe("[support] stream me please");
    const done = events.find((e) => e.type === "response.output_text.done") as { text: string } | undefined;
    expect(done?.text).toBe("[support] stream me please");
    const completed = events[events.length - 1] as {
      response: { id: string; output: unknown[]; status: string };
    };
    expect(completed.response.status).toBe("completed");
    // sequence numbers increase one by one
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    // the streamed response can be fetched and continued like any other
    const fetched = await client.responses.retrieve(completed.response.id);
    expect(fetched.output_text).toBe("[support] stream me please");
  });

  it("continues a conversation with previous_response_id, on the same agent and session", async () => {
    const first = await client.responses.create({ model: "support", input: "my name is Ada" }).withResponse();
    const second = await client.responses
      .create({ input: "what is my name?", previous_response_id: first.data.id })
      .withResponse();
    // No model given: the previous response's agent answers.
    expect(second.data.output_text).toBe("[support] what is my name?");
    expect(second.data.previous_response_id).toBe(first.data.id);
    expect(second.response.headers.get("x-switchboard-session-id")).toBe(
      first.response.headers.get("x-switchboard-session-id"),
    );
    const t = lastTurn();
    expect(t.history).toEqual([
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: "[support] my name is Ada" },
    ]);
    // Branching: continuing from the first response again does not see the second exchange.
    await client.responses.create({ input: "branch", previous_response_id: first.data.id });
    expect(lastTurn().history.map((m) => m.content)).toEqual(["my name is Ada", "[support] my name is Ada"]);
    // The transcript is in the session store too.
    await api.gateway.idle();
    expect((await api.store.history(t.sessionId)).map((m) => m.content)).toContain("what is my name?");
  });

  it("keeps a response to its key and its agent", async () => {
    const r = await client.responses.create({ model: "support", input: "mine" });
    const other = api.client({ key: KEYS.webui });
    await expect(other.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      other.responses.create({ input: "steal", previous_response_id: r.id }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    // Another agent named explicitly cannot continue it either.
    const cross = await postJson(
      api,
      "/v1/responses",
      { model: "ops", input: "x", previous_response_id: r.id },
      { key: KEYS.admin },
    );
    expect(cross.status).toBe(400);
    expect(((await cross.json()) as any).error).toMatchObject({
      code: "response_not_found",
      param: "previous_response_id",
    });
    const pinned = await api.request(`/agents/ops/v1/responses/${r.id}`, { key: KEYS.admin });
    expect(pinned.status).toBe(404);
    expect((await api.request(`/agents/support/v1/responses/${r.id}`, { key: KEYS.admin })).status).toBe(200);
  });

  it("does not keep a response sent with store: false", async () => {
    const r = await client.responses.create({ model: "main", input: "forget me", store: false });
    expect(r.output_text).toBe("[main] forget me");
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await api.gateway.idle();
    expect((await api.store.history(lastTurn().sessionId)).map((m) => m.content)).not.toContain("forget me");
  });

  it("deletes a stored response", async () => {
    const r = await client.responses.create({ model: "main", input: "temporary" });
    await client.responses.delete(r.id);
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("emits response.failed when the agent fails mid-stream", async () => {
    const res = await postJson(
      api,
      "/v1/responses",
      { model: "main", input: "[[fail-after-first]]", stream: true },
      { key: KEYS.admin },
    );
    const frames = await readSse(res);
    const last = frames[frames.length - 1]!;
    expect(last.event).toBe("response.failed");
    // `response.failed` carries a code from the spec's list; the agent's own code is the JSON error's.
    expect(JSON.parse(last.data).response.error).toMatchObject({
      code: "server_error",
      message: "the model provider failed",
    });
  });
});
