import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

describe("steering a running turn (session.busy: steer)", () => {
  let stub: StubLlm;
  let home: ReturnType<typeof tempHome>;
  beforeEach(async () => {
    stub = await startStubLlm();
    home = tempHome();
  });
  afterEach(async () => {
    await stub.close();
    home.cleanup();
  });

  it("adds a message that arrived meanwhile to the next model step, once", async () => {
    const cfg = await configFrom(
      home.dir,
      `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\nagents:\n  main: { model: { provider: local, name: m }, toolsets: [memory] }\n`,
    );
    stub.script(
      { toolCalls: [{ name: "memory_add", arguments: { target: "memory", content: "tea" } }] },
      { toolCalls: [{ name: "memory_add", arguments: { target: "memory", content: "coffee" } }] },
      { text: "noted both" },
    );
    const queued = [[{ role: "user" as const, content: "also remember coffee" }]];
    let asked = 0;
    const runner = createAgentRunner();
    const events = await collect(
      runner.run(
        makeTurn(profile(cfg, "main"), "remember tea", {
          steer: () => {
            asked++;
            return queued.shift() ?? [];
          },
        }),
      ),
    );
    expect(terminal(events)).toMatchObject({ type: "finish", text: "noted both" });
    // Asked before the second and the third step, not before the first.
    expect(asked).toBe(2);
    const userTexts = (i: number) =>
      stub.requests[i]!.messages.filter((m) => m.role === "user").map((m) => JSON.stringify(m.content));
    expect(userTexts(0).join()).not.toContain("coffee");
    expect(userTexts(1).filter((t) => t.includes("also remember coffee"))).toHaveLength(1);
    // Carried into the later step, not added again.
    expect(userTexts(2).filter((t) => t.includes("also remember coffee"))).toHaveLength(1);
    const second = stub.requests[1]!.messages;
    // It comes after the first step's tool result.
    expect(second.findIndex((m) => m.role === "tool")).toBeLessThan(
      second.findIndex((m) => JSON.stringify(m.content).includes("also remember coffee")),
    );
    await runner.close();
  });
});
