import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { AgentEvent } from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";
import { collect, configFrom, deltas, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
let stub: StubLlm;
beforeEach(async () => {
  home = tempHome();
  stub = await startStubLlm();
});
afterEach(async () => {
  await stub.close();
  home.cleanup();
});

function yaml(url: string, model = "name: stub-model", extra = ""): string {
  return `providers:\n  local: { kind: openai-compatible, base_url: "${url}"${extra} }\nmodel: { provider: local, ${model} }\nagents:\n  main: {}\n  ops: {}\n`;
}

async function opsAgent(url = stub.url, model?: string, extra?: string) {
  return profile(await configFrom(home.dir, yaml(url, model, extra)), "ops");
}

const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("openai-compatible provider against the stub server", () => {
  it("streams the reply in several text deltas and finishes with the text and usage", async () => {
    const agent = await opsAgent();
    writeFileSync(join(home.dir, "SOUL.md"), "main persona");
    const events = await collect(createAgentRunner().run(makeTurn(agent, "how are you today")));
    expect(deltas(events).length).toBeGreaterThan(3);
    expect(deltas(events).join("")).toBe("stub: how are you today");
    const end = terminal(events);
    expect(end).toMatchObject({ type: "finish", text: "stub: how are you today", finishReason: "stop" });
    if (end.type === "finish") expect(end.usage.outputTokens).toBe(5);
    const request = stub.requests[0]!;
    expect(request).toMatchObject({ model: "stub-model", stream: true });
    expect(request.messages[0]).toMatchObject({ role: "system" });
    expect(String(request.messages[0]!.content)).toContain("You are ops");
    expect(String(request.messages[0]!.content)).not.toContain("main persona");
    expect(request.messages.at(-1)).toEqual({ role: "user", content: "how are you today" });
    expect(stub.requestHeaders[0]!.authorization).toBeUndefined();
  });

  it("runs a tool call round trip through the memory toolset", async () => {
    const agent = await opsAgent();
    stub.script(
      {
        toolCalls: [
          { id: "call_1", name: "memory_add", arguments: { target: "user", content: "Ada prefers tea" } },
        ],
      },
      { text: "Noted." },
    );
    const events = await collect(createAgentRunner().run(makeTurn(agent, "remember that I prefer tea")));
    expect(events.filter((e) => e.type !== "text-delta")).toEqual([
      {
        type: "tool-call",
        toolCallId: "call_1",
        toolName: "memory_add",
        input: { target: "user", content: "Ada prefers tea" },
      },
      {
        type: "tool-result",
        toolCallId: "call_1",
        toolName: "memory_add",
        output: expect.objectContaining({ ok: true, file: "USER.md", entries: 1 }),
      },
      expect.objectContaining({ type: "finish", text: "Noted." }),
    ]);
    expect(readFileSync(join(agent.home, "memories", "USER.md"), "utf8")).toBe("Ada prefers tea\n");
    const toolNames = stub.requests[0]!.tools?.map((t) => t.function.name);
    expect(toolNames).toEqual(
      expect.arrayContaining([
        "memory_add",
        "memory_replace",
        "memory_remove",
        "skills_list",
        "skill_view",
        "session_search",
        "cron_create",
      ]),
    );
    const second = stub.requests[1]!.messages;
    expect(second.at(-2)).toMatchObject({
      role: "assistant",
      tool_calls: [{ id: "call_1", function: { name: "memory_add" } }],
    });
    expect(second.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_1" });
    expect(JSON.parse(String(second.at(-1)!.content))).toMatchObject({ ok: true, file: "USER.md" });
  });

  it("sends a tool's failure back to the model as the tool result and keeps going", async () => {
    const agent = await opsAgent();
    stub.script(
      { toolCalls: [{ id: "call_x", name: "skill_view", arguments: { name: "../../SOUL" } }] },
      { text: "I cannot read that." },
    );
    const events = await collect(createAgentRunner().run(makeTurn(agent, "read it")));
    expect(events.find((e) => e.type === "tool-result")).toMatchObject({
      isError: true,
      output: expect.stringContaining("refused"),
    });
    expect(terminal(events)).toMatchObject({ type: "finish", text: "I cannot read that." });
    expect(String(stub.requests[1]!.messages.at(-1)!.content)).toContain("refused");
  });

  it("stops the tool loop at model.max_steps and says so", async () => {
    const agent = await opsAgent(stub.url, "name: stub-model, max_steps: 2");
    stub.script(
      ...Array.from({ length: 5 }, (_, i) => ({
        toolCalls: [{ name: "skills_list", arguments: {} }],
        text: i === 0 ? "Looking." : "",
      })),
    );
    const events = await collect(createAgentRunner().run(makeTurn(agent, "loop forever")));
    expect(stub.requests).toHaveLength(2);
    expect(events.filter((e) => e.type === "tool-call")).toHaveLength(2);
    const end = terminal(events);
    expect(end).toMatchObject({ type: "finish", text: expect.stringContaining("stopped after 2 steps") });
    if (end.type === "finish") expect(deltas(events).join("")).toBe(end.text);
  });

  it("aborts mid-stream: the upstream request is disconnected and the turn ends with one aborted error", async () => {
    const agent = await opsAgent();
    stub.setLatency(40);
    stub.script({ text: "one two three four five six seven eight nine ten eleven twelve" });
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    for await (const e of createAgentRunner().run(makeTurn(agent, "count", { signal: controller.signal }))) {
      events.push(e);
      if (deltas(events).length === 2) controller.abort();
    }
    expect(terminal(events)).toMatchObject({ type: "error", code: "aborted" });
    expect(deltas(events)).toHaveLength(2);
    await stub.waitFor(() => stub.abortedStreams() === 1 && stub.activeStreams() === 0);
  });

  it("aborts the upstream request when the consumer stops reading", async () => {
    const agent = await opsAgent();
    stub.setLatency(40);
    stub.script({ text: "one two three four five six seven eight nine ten" });
    for await (const e of createAgentRunner().run(makeTurn(agent, "count"))) {
      if (e.type === "text-delta") break;
    }
    await stub.waitFor(() => stub.abortedStreams() === 1 && stub.activeStreams() === 0);
  });

  it("retries a 429 and then answers", async () => {
    const agent = await opsAgent();
    stub.failNext(429, 1, { retryAfter: 0 });
    const events = await collect(createAgentRunner().run(makeTurn(agent, "again")));
    expect(terminal(events)).toMatchObject({ type: "finish", text: "stub: again" });
    expect(stub.requests).toHaveLength(2);
  });

  it("turns a 429 that persists into one rate-limit error", async () => {
    const agent = await opsAgent();
    stub.failNext(429, 3, { retryAfter: 0 });
    const events = await collect(createAgentRunner().run(makeTurn(agent, "again")));
    expect(events).toHaveLength(1);
    expect(terminal(events)).toMatchObject({
      type: "error",
      code: "rate_limited",
      status: 429,
      message: expect.stringContaining('"local"'),
    });
  });

  it("turns a 500 into one user-facing error event, not a crash", async () => {
    const agent = await opsAgent();
    stub.failNext(500, 3, { retryAfter: 0 });
    const events = await collect(createAgentRunner().run(makeTurn(agent, "hello")));
    expect(events).toHaveLength(1);
    const end = terminal(events);
    expect(end).toMatchObject({ type: "error", code: "provider_unavailable", status: 500 });
    if (end.type === "error")
      expect(end.message).toMatch(
        /^Model provider "local" \(openai-compatible, model stub-model\) failed with HTTP 500; try again later\.$/,
      );
    expect(stub.requests).toHaveLength(3);
  });

  it("reports a rejected key without retrying and names the variable", async () => {
    writeFileSync(join(home.dir, "agents-ops.env"), "");
    const agent = await opsAgent(stub.url, "name: stub-model", ", api_key_env: LOCAL_KEY");
    agent.env.LOCAL_KEY = "wrong-key";
    stub.failNext(401, 1);
    const events = await collect(createAgentRunner().run(makeTurn(agent, "hello")));
    expect(terminal(events)).toMatchObject({
      type: "error",
      code: "provider_auth",
      message: expect.stringContaining("LOCAL_KEY"),
    });
    expect(JSON.stringify(events)).not.toContain("wrong-key");
    expect(stub.requestHeaders[0]!.authorization).toBe("Bearer wrong-key");
    expect(stub.requests).toHaveLength(1);
  });

  it("turns a malformed stream into one error event", async () => {
    const agent = await opsAgent();
    stub.script({ malformed: true });
    const events = await collect(createAgentRunner().run(makeTurn(agent, "hello")));
    expect(terminal(events)).toMatchObject({ type: "error", code: "malformed_response" });
  });

  it("times out a provider that does not answer", async () => {
    const agent = await opsAgent();
    stub.script({ text: "too late", delayMs: 5_000 });
    const runner = createAgentRunner({ timeouts: { firstChunkMs: 200 }, maxRetries: 0 });
    const started = Date.now();
    const events = await collect(runner.run(makeTurn(agent, "hello")));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(terminal(events)).toMatchObject({
      type: "error",
      code: "timeout",
      message: expect.stringContaining("did not answer in time"),
    });
  });

  it("times out a stream that stalls after it started", async () => {
    const agent = await opsAgent();
    stub.script({ text: "slow words never end", stall: true });
    const runner = createAgentRunner({ timeouts: { chunkMs: 200 }, maxRetries: 0 });
    const events = await collect(runner.run(makeTurn(agent, "hello")));
    expect(deltas(events)).toEqual(["slow "]);
    expect(terminal(events)).toMatchObject({ type: "error", code: "timeout" });
    await stub.waitFor(() => stub.activeStreams() === 0);
  });

  it("reports an unreachable provider, with its address only in the detail for the log", async () => {
    const port = await unusedPort();
    const agent = await opsAgent(`http://127.0.0.1:${port}/v1`);
    const events = await collect(createAgentRunner({ maxRetries: 0 }).run(makeTurn(agent, "hello")));
    expect(terminal(events)).toMatchObject({
      type: "error",
      code: "provider_unreachable",
      message: expect.not.stringContaining(`127.0.0.1:${port}`),
      detail: expect.stringContaining(`http://127.0.0.1:${port}`),
    });
  });

  it("sends the model settings, images and earlier tool calls in the OpenAI format", async () => {
    const agent = await opsAgent(stub.url, "name: qwen3, temperature: 0.3, max_tokens: 99");
    const turn = makeTurn(agent, "", {
      history: [
        { role: "user", content: "what do you know?" },
        { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "skills_list", input: {} }] },
        { role: "tool", content: '{"skills":[]}', toolCallId: "c1" },
        { role: "assistant", content: "", toolCalls: [{ id: "orphan", name: "skills_list", input: {} }] },
        { role: "assistant", content: "Nothing yet." },
      ],
      input: [
        {
          role: "user",
          content: [
            { type: "text", text: "look at this" },
            { type: "image", url: PIXEL, mimeType: "image/png" },
          ],
        },
      ],
      extraSystem: "Answer in French.",
    });
    terminal(await collect(createAgentRunner().run(turn)));
    const body = stub.requests[0]!;
    expect(body).toMatchObject({ model: "qwen3", temperature: 0.3, max_tokens: 99 });
    expect(String(body.messages[0]!.content)).toMatch(/Answer in French\.$/);
    expect(body.messages.slice(1)).toEqual([
      { role: "user", content: "what do you know?" },
      expect.objectContaining({ role: "assistant", tool_calls: [expect.objectContaining({ id: "c1" })] }),
      { role: "tool", tool_call_id: "c1", content: '{"skills":[]}' },
      { role: "assistant", content: "Nothing yet." },
      {
        role: "user",
        content: [
          { type: "text", text: "look at this" },
          { type: "image_url", image_url: { url: PIXEL } },
        ],
      },
    ]);
  });

  it("errors clearly when an openai-compatible model has no name", async () => {
    const agent = await opsAgent();
    delete agent.model.name;
    const events = await collect(createAgentRunner().run(makeTurn(agent, "hello")));
    expect(terminal(events)).toMatchObject({
      type: "error",
      code: "config",
      message: expect.stringContaining("agents.ops.model.name"),
    });
    expect(stub.requests).toHaveLength(0);
  });
});
