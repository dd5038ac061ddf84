import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse, startApi, type TestApi } from "./helpers.ts";

/** The real agent runtime behind the API: the echo provider for two agents, an openai-compatible one for a third. */
describe("end to end with the agent runtime", () => {
  let stub: StubLlm;
  let api: TestApi;
  beforeAll(async () => {
    stub = await startStubLlm();
    api = await startApi(
      {
        providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
        agents: { main: {}, alpha: {}, beta: {}, llm: { model: { provider: "stub", name: "stub-model" } } },
        api_server: { keys: [{ key: KEYS.admin, agents: "*" }] },
      },
      { runner: createAgentRunner({ maxRetries: 0 }) },
    );
  });
  afterAll(async () => {
    await api?.close();
    await stub?.close();
  });

  it("answers each agent with its own echo model, streamed and not", async () => {
    const client = api.client({ key: KEYS.admin });
    const a = await client.chat.completions.create({
      model: "alpha",
      messages: [{ role: "user", content: "ping" }],
    });
    expect(a.choices[0]?.message.content).toBe("[alpha] ping");
    const stream = await client.chat.completions.create({
      model: "beta",
      stream: true,
      messages: [{ role: "user", content: "pong pang" }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe("[beta] pong pang");
    const r = await client.responses.create({ model: "alpha", input: "via responses" });
    expect(r.output_text).toBe("[alpha] via responses");
  });

  it("relays an openai-compatible model's answer, streamed token by token", async () => {
    stub.script({ text: "hello from the stub model" });
    const client = api.client({ key: KEYS.admin });
    const stream = await client.chat.completions.create({
      model: "llm",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const pieces: string[] = [];
    for await (const c of stream) if (c.choices[0]?.delta.content) pieces.push(c.choices[0].delta.content);
    expect(pieces.join("")).toBe("hello from the stub model");
    expect(pieces.length).toBeGreaterThan(1);
    const last = stub.requests[stub.requests.length - 1]!;
    expect(last.messages[last.messages.length - 1]).toMatchObject({ role: "user", content: "hi" });
    expect(last.stream).toBe(true);
  });

  it("asks the model for a whole answer when the caller does not stream (chat and responses)", async () => {
    stub.script({ text: "one piece" }, { text: "another piece" });
    const client = api.client({ key: KEYS.admin });
    const count = stub.requests.length;
    const a = await client.chat.completions.create({
      model: "llm",
      messages: [{ role: "user", content: "whole" }],
    });
    expect(a.choices[0]?.message.content).toBe("one piece");
    expect(a.usage?.completion_tokens).toBe(2);
    const r = await client.responses.create({ model: "llm", input: "whole again" });
    expect(r.output_text).toBe("another piece");
    expect(stub.requests.slice(count).map((q) => q.stream ?? false)).toEqual([false, false]);
  });

  it("aborts the upstream model call when the streaming client disconnects", async () => {
    const before = stub.abortedStreams();
    stub.script({ text: "first then nothing more", stall: true });
    const client = api.client({ key: KEYS.admin });
    const stream = await client.chat.completions.create({
      model: "llm",
      stream: true,
      messages: [{ role: "user", content: "stall" }],
    });
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) break; // the first token arrived; hang up
    }
    await stub.waitFor(() => stub.abortedStreams() === before + 1 && stub.activeStreams() === 0);
  });

  it("aborts the upstream model call when a non-streaming client disconnects", async () => {
    const before = stub.abortedStreams();
    const count = stub.requests.length;
    stub.script({ text: "never finished", stall: true });
    const controller = new AbortController();
    const pending = api
      .client({ key: KEYS.admin })
      .chat.completions.create(
        { model: "llm", messages: [{ role: "user", content: "stall again" }] },
        { signal: controller.signal },
      );
    await stub.waitFor(() => stub.requests.length === count + 1 && stub.activeStreams() === 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await stub.waitFor(() => stub.abortedStreams() === before + 1 && stub.activeStreams() === 0);
  });

  it("reports a run's tool calls as events, and the tool writes only its own agent's memory", async () => {
    const input = `[[tool:memory_add {"target":"memory","content":"alpha likes tea"}]]`;
    const res = await postJson(api, "/v1/runs", { model: "alpha", input }, { key: KEYS.admin });
    expect(res.status).toBe(202);
    const run = (await res.json()) as { id: string };
    const frames = await readSse(await api.request(`/v1/runs/${run.id}/events`, { key: KEYS.admin }));
    const names = frames.map((f) => f.event);
    expect(names).toEqual(
      expect.arrayContaining(["run.started", "tool.started", "tool.completed", "run.completed"]),
    );
    const started = JSON.parse(frames.find((f) => f.event === "tool.started")!.data);
    expect(started).toMatchObject({
      tool: "memory_add",
      input: { target: "memory", content: "alpha likes tea" },
    });
    expect(JSON.parse(frames.find((f) => f.event === "tool.completed")!.data).error).toBe(false);
    const alpha = api.gateway.agent("alpha")!;
    const beta = api.gateway.agent("beta")!;
    expect(readFileSync(join(alpha.home, "memories", "MEMORY.md"), "utf8")).toContain("alpha likes tea");
    expect(existsSync(join(beta.home, "memories", "MEMORY.md"))).toBe(false);
  });
});
