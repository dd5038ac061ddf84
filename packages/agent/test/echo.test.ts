import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AgentEvent, definePlugin, HookRunner } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner, longText, parseToolMarkers } from "../src/index.ts";
import { collect, configFrom, deltas, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

const YAML = "agents:\n  main: {}\n  helper: {}\n";

describe("echo provider", () => {
  it("replies with the agent id and the input, streamed word by word", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    const events = await collect(runner.run(makeTurn(profile(config, "helper"), "hello there   world")));
    expect(deltas(events)).toEqual(["[helper] ", "hello ", "there   ", "world"]);
    expect(terminal(events)).toEqual({
      type: "finish",
      text: "[helper] hello there   world",
      usage: { inputTokens: 3, outputTokens: 4 },
      finishReason: "stop",
    });
  });

  it("is deterministic: the same turn gives the same events", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    const turn = () => makeTurn(profile(config, "main"), "same words every time");
    const first = await collect(runner.run(turn()));
    const second = await collect(runner.run(turn()));
    expect(second).toEqual(first);
  });

  it("answers the last user message of the input", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    const turn = makeTurn(profile(config, "main"), "", {
      history: [
        { role: "user", content: "old question" },
        { role: "assistant", content: "[main] old question" },
      ],
      input: [
        { role: "user", content: "first" },
        {
          role: "user",
          content: [
            { type: "text", text: "second" },
            { type: "image", url: "https://example.com/a.png" },
          ],
        },
      ],
    });
    expect(terminal(await collect(runner.run(turn)))).toMatchObject({
      type: "finish",
      text: "[main] second",
    });
  });

  it("waits for /sleep and [[sleep:ms]] before answering", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    for (const text of ["/sleep 150", "please [[sleep:150]] then answer"]) {
      const started = Date.now();
      const end = terminal(await collect(runner.run(makeTurn(profile(config, "main"), text))));
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(end).toMatchObject({ type: "finish", text: `[main] ${text}` });
    }
  });

  it("stops a sleeping turn at once when aborted, with one aborted error", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const events = await collect(
      runner.run(makeTurn(profile(config, "main"), "/sleep 10000", { signal: controller.signal })),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(terminal(events)).toMatchObject({ type: "error", code: "aborted" });
    expect(deltas(events)).toEqual([]);
  });

  it("stops streaming mid-reply when aborted between words", async () => {
    const config = await configFrom(home.dir, YAML);
    const runner = createAgentRunner();
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    for await (const e of runner.run(
      makeTurn(profile(config, "main"), "one two three four five six", { signal: controller.signal }),
    )) {
      events.push(e);
      if (events.length === 2) controller.abort();
    }
    expect(deltas(events)).toEqual(["[main] ", "one "]);
    expect(terminal(events)).toMatchObject({ type: "error", code: "aborted" });
  });

  it("fails with one error event on [[fail]]", async () => {
    const config = await configFrom(home.dir, YAML);
    const events = await collect(
      createAgentRunner().run(makeTurn(profile(config, "main"), "please [[fail]]")),
    );
    expect(events).toHaveLength(1);
    expect(terminal(events)).toMatchObject({ type: "error", code: "echo_fail" });
  });

  it("replies exactly [SILENT] on [[silent]]", async () => {
    const config = await configFrom(home.dir, YAML);
    const events = await collect(
      createAgentRunner().run(makeTurn(profile(config, "main"), "nothing to report [[silent]]")),
    );
    expect(terminal(events)).toMatchObject({ type: "finish", text: "[SILENT]" });
  });

  it("replies with its system prompt on [[system]], so persona tests run offline", async () => {
    const config = await configFrom(home.dir, YAML);
    const agent = profile(config, "helper");
    mkdirSync(agent.home, { recursive: true });
    writeFileSync(join(agent.home, "SOUL.md"), "You are the helper persona.");
    const events = await collect(createAgentRunner().run(makeTurn(agent, "who are you? [[system]]")));
    expect(terminal(events)).toMatchObject({
      type: "finish",
      text: expect.stringMatching(/^\[helper\] You are the helper persona\.\n\n## Session context/),
    });
  });

  it("replies with exactly n characters of paragraphs and closed code fences on [[long:n]]", async () => {
    const config = await configFrom(home.dir, YAML);
    const events = await collect(
      createAgentRunner().run(makeTurn(profile(config, "main"), "[[long:10000]]")),
    );
    const end = terminal(events);
    if (end.type !== "finish") throw new Error("expected finish");
    expect(end.text).toHaveLength(10_000);
    expect(deltas(events).join("")).toBe(end.text);
    expect(end.text.startsWith("[main] ")).toBe(true);
    const fences = end.text.split("\n").filter((l) => l.startsWith("```"));
    expect(fences.length).toBeGreaterThanOrEqual(6);
    expect(fences.length % 2).toBe(0);
    expect(end.text).toContain("\n\n");
    for (const n of [1, 10, 40, 200, 4097]) expect(longText("[x] ", n)).toHaveLength(n);
  });

  it("calls a tool of the agent's toolsets on [[tool:<name> <json>]] and reports the result", async () => {
    const config = await configFrom(home.dir, YAML);
    const agent = profile(config, "helper");
    const events = await collect(
      createAgentRunner().run(
        makeTurn(agent, '[[tool:memory_add {"target":"memory","content":"likes [[brackets]]"}]]'),
      ),
    );
    expect(events[0]).toEqual({
      type: "tool-call",
      toolCallId: "echo-1",
      toolName: "memory_add",
      input: { target: "memory", content: "likes [[brackets]]" },
    });
    expect(events[1]).toMatchObject({
      type: "tool-result",
      toolCallId: "echo-1",
      output: { ok: true, entries: 1 },
    });
    expect(readFileSync(join(agent.home, "memories", "MEMORY.md"), "utf8")).toBe("likes [[brackets]]\n");
    expect(terminal(events)).toMatchObject({
      type: "finish",
      text: expect.stringContaining("[helper] tool memory_add: "),
    });
  });

  it("reports a tool outside the agent's toolsets as a failed tool call", async () => {
    const config = await configFrom(home.dir, "agents:\n  main: {}\n  narrow:\n    toolsets: [skills]\n");
    const agent = profile(config, "narrow");
    const events = await collect(
      createAgentRunner().run(makeTurn(agent, '[[tool:memory_add {"target":"memory","content":"x"}]]')),
    );
    expect(events[1]).toMatchObject({
      type: "tool-result",
      isError: true,
      output: expect.stringContaining("not available"),
    });
    expect(existsSync(join(agent.home, "memories", "MEMORY.md"))).toBe(false);
    expect(terminal(events)).toMatchObject({
      type: "finish",
      text: expect.stringContaining("tool memory_add failed"),
    });
  });

  it("parses tool markers whose JSON holds brackets, and reports bad JSON", () => {
    expect(parseToolMarkers('a [[tool:x {"a":[[1]]}]] b [[tool:y]] [[tool:z {oops]]')).toEqual([
      { name: "x", input: { a: [[1]] } },
      { name: "y", input: {} },
      { name: "z", input: undefined, error: 'the input "{oops" is not JSON' },
    ]);
  });

  it("calls the model and tool hooks with the agent id", async () => {
    const config = await configFrom(home.dir, YAML);
    const seen: string[] = [];
    const hooks = new HookRunner([
      definePlugin({
        name: "spy",
        hooks: {
          beforeModelCall: (p) => void seen.push(`beforeModel:${p.agentId}:${p.model}`),
          afterModelCall: (p) => void seen.push(`afterModel:${p.agentId}:${p.text}`),
          beforeToolCall: (p) => void seen.push(`beforeTool:${p.agentId}:${p.toolName}`),
          afterToolCall: (p) => void seen.push(`afterTool:${p.agentId}:${p.toolName}:${p.error ?? "ok"}`),
        },
      }),
    ]);
    await collect(
      createAgentRunner().run(makeTurn(profile(config, "helper"), "[[tool:skills_list {}]]", { hooks })),
    );
    expect(seen).toEqual([
      "beforeModel:helper:echo",
      "beforeTool:helper:skills_list",
      "afterTool:helper:skills_list:ok",
      'afterModel:helper:[helper] tool skills_list: {"skills":[]}',
    ]);
  });

  it("never throws: a malformed turn becomes one error event", async () => {
    const config = await configFrom(home.dir, YAML);
    const turn = makeTurn(profile(config, "main"), "hi", {
      input: [{ role: "user", content: null as unknown as string }],
    });
    const events = await collect(createAgentRunner().run(turn));
    expect(terminal(events)).toMatchObject({ type: "error", code: "internal_error" });
  });
});
