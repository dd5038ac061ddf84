import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentEvent, AgentTurn } from "@switchboard/core";
import { type StubLlm, type StubResponse, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";
import { collect, configFrom, deltas, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

/**
 * A turn nobody reads as a stream (`stream: false`, a non-streaming API request) asks the model for whole
 * answers: the same events and outcome as the streamed turn, without an event stream upstream.
 */
let home: ReturnType<typeof tempHome>;
let stub: StubLlm;
/** A second home and stub, so the whole-answer run of `bothWays` starts from the same state as the streamed one. */
let home2: ReturnType<typeof tempHome>;
let stub2: StubLlm;
beforeEach(async () => {
  home = tempHome();
  home2 = tempHome();
  stub = await startStubLlm();
  stub2 = await startStubLlm();
});
afterEach(async () => {
  await stub.close();
  await stub2.close();
  home.cleanup();
  home2.cleanup();
});

async function opsAgent(model = "name: stub-model", at = { home, stub }) {
  const yaml = `providers:\n  local: { kind: openai-compatible, base_url: "${at.stub.url}" }\nmodel: { provider: local, ${model} }\nagents:\n  ops: {}\n`;
  return profile(await configFrom(at.home.dir, yaml), "ops");
}

/** The events apart from how the text was cut into deltas, and the text they add up to. */
function shape(events: AgentEvent[]) {
  return { text: deltas(events).join(""), others: events.filter((e) => e.type !== "text-delta") };
}

const NOW = new Date("2026-03-04T05:06:07Z");

/** Run the same scripted turn streamed and whole, each in its own home against its own stub. */
async function bothWays(
  script: StubResponse[],
  text: string,
  extra: Partial<AgentTurn> = {},
  model?: string,
) {
  const run = async (at: { home: typeof home; stub: StubLlm }, stream: Partial<AgentTurn>) => {
    const agent = await opsAgent(model, at);
    at.stub.script(...script);
    return collect(createAgentRunner().run(makeTurn(agent, text, { now: () => NOW, ...extra, ...stream })));
  };
  const streamed = await run({ home, stub }, {});
  const whole = await run({ home: home2, stub: stub2 }, { stream: false });
  // Taken out, so a second `bothWays` in the same test sees only its own requests.
  return {
    streamed,
    whole,
    streamedRequests: stub.requests.splice(0),
    wholeRequests: stub2.requests.splice(0),
  };
}

describe("whole answers for a turn nobody streams", () => {
  it("asks without an event stream and ends with the same text and usage", async () => {
    const r = await bothWays([{ text: "stub: how are you" }], "how are you");
    expect(r.streamedRequests.map((q) => q.stream)).toEqual([true]);
    expect(r.wholeRequests.map((q) => q.stream ?? false)).toEqual([false]);
    expect(shape(r.whole)).toEqual(shape(r.streamed));
    expect(terminal(r.whole)).toMatchObject({
      type: "finish",
      text: "stub: how are you",
      finishReason: "stop",
      usage: { outputTokens: 4 },
    });
    // The same prompt and messages go up either way.
    expect(r.wholeRequests[0]!.messages).toEqual(r.streamedRequests[0]!.messages);
    expect(r.wholeRequests[0]!.tools).toEqual(r.streamedRequests[0]!.tools);
  });

  it("runs the tool loop with the same tool events, each step a whole answer", async () => {
    const call = {
      toolCalls: [{ id: "call_1", name: "memory_add", arguments: { target: "user", content: "likes tea" } }],
    };
    const r = await bothWays([call, { text: "Noted." }], "remember tea");
    expect(r.wholeRequests).toHaveLength(2);
    expect(shape(r.whole)).toEqual(shape(r.streamed));
    expect(r.whole.map((e) => e.type)).toEqual(["tool-call", "tool-result", "text-delta", "finish"]);
    expect(r.whole[1]).toMatchObject({ type: "tool-result", output: expect.objectContaining({ ok: true }) });
    const memory = (h: typeof home) =>
      readFileSync(join(h.dir, "agents", "ops", "memories", "USER.md"), "utf8");
    expect(memory(home2)).toBe("likes tea\n");
    expect(memory(home2)).toBe(memory(home));
  });

  it("says so when the tool loop hits max_steps, and when a budget stops it", async () => {
    // As many answers as each run takes: nothing is left queued for the next.
    const loop = Array.from({ length: 2 }, (_, i) => ({
      toolCalls: [{ id: `call_${i}`, name: "skills_list", arguments: {} }],
      text: i === 0 ? "Looking." : "",
    }));
    const steps = await bothWays(loop, "loop", {}, "name: stub-model, max_steps: 2");
    expect(shape(steps.whole)).toEqual(shape(steps.streamed));
    expect(terminal(steps.whole)).toMatchObject({ text: expect.stringContaining("stopped after 2 steps") });

    const budget = await bothWays(loop.slice(0, 1), "loop", {
      spendLimit: () => "(The daily budget is used up.)",
    });
    expect(shape(budget.whole)).toEqual(shape(budget.streamed));
    expect(budget.wholeRequests).toHaveLength(1);
    expect(terminal(budget.whole)).toMatchObject({ text: "Looking.\n\n(The daily budget is used up.)" });
  });

  it("pauses on the caller's tool with the same finish", async () => {
    const clientTools = [{ name: "get_weather", parameters: { type: "object", properties: {} } }];
    const r = await bothWays(
      [{ toolCalls: [{ id: "call_w", name: "get_weather", arguments: {} }] }],
      "weather?",
      { clientTools },
    );
    expect(shape(r.whole)).toEqual(shape(r.streamed));
    expect(terminal(r.whole)).toMatchObject({
      type: "finish",
      finishReason: "tool-calls",
      toolCalls: [{ toolCallId: "call_w", toolName: "get_weather", input: {} }],
    });
  });

  it("reports provider failures as the streamed turn does", async () => {
    const agent = await opsAgent();
    const runner = createAgentRunner();
    for (const stream of [undefined, false]) {
      stub.failNext(500, 3, { retryAfter: 0 });
      const events = await collect(runner.run(makeTurn(agent, "hello", stream === false ? { stream } : {})));
      expect(events).toHaveLength(1);
      expect(terminal(events)).toMatchObject({ type: "error", code: "provider_unavailable", status: 500 });
    }
    stub.failNext(429, 1, { retryAfter: 0 });
    const retried = await collect(runner.run(makeTurn(agent, "again", { stream: false })));
    expect(terminal(retried)).toMatchObject({ type: "finish", text: "stub: again" });
    // An answer that is not JSON, JSON of the wrong shape, or empty: malformed, as a broken stream is.
    for (const body of [undefined, '{"unexpected":true}', ""]) {
      stub.script({ invalidJson: true, ...(body !== undefined ? { body } : {}) });
      const invalid = await collect(runner.run(makeTurn(agent, "hello", { stream: false })));
      expect(terminal(invalid)).toMatchObject({ type: "error", code: "malformed_response" });
    }
  });

  it("aborts the upstream request on a stop and times out a model that does not answer", async () => {
    const agent = await opsAgent();
    stub.script({ text: "never", stall: true });
    const controller = new AbortController();
    const pending = collect(
      createAgentRunner().run(makeTurn(agent, "wait", { stream: false, signal: controller.signal })),
    );
    await stub.waitFor(() => stub.activeStreams() === 1);
    controller.abort();
    expect(terminal(await pending)).toMatchObject({ type: "error", code: "aborted" });
    await stub.waitFor(() => stub.abortedStreams() === 1 && stub.activeStreams() === 0);

    stub.script({ text: "too late", delayMs: 5_000 });
    const runner = createAgentRunner({ timeouts: { firstChunkMs: 200 }, maxRetries: 0 });
    const started = Date.now();
    const events = await collect(runner.run(makeTurn(agent, "hello", { stream: false })));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(terminal(events)).toMatchObject({ type: "error", code: "timeout" });
  });
});
