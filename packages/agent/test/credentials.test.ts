import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { useAgent } from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
let stub: StubLlm;
let savedKey: string | undefined;
beforeEach(async () => {
  home = tempHome();
  stub = await startStubLlm();
  savedKey = process.env.OPENAI_API_KEY;
  // main's key is in the process environment, where an SDK's own fallback would find it.
  process.env.OPENAI_API_KEY = "sk-main-key";
});
afterEach(async () => {
  if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = savedKey;
  await stub.close();
  home.cleanup();
});

function yaml(): string {
  return [
    "providers:",
    `  stubai: { kind: openai, base_url: "${stub.url}" }`,
    "  claude: { kind: anthropic }",
    "model: { provider: stubai, name: gpt-test }",
    "agents:",
    "  main: {}",
    "  support: {}",
    "  shared: { secrets: inherit }",
    "  mapped: { env: { OPENAI_API_KEY: sk-from-config-map } }",
    "  writer: { model: { provider: claude, name: claude-test } }",
  ].join("\n");
}

const config = () => configFrom(home.dir, yaml(), process.env);

describe("credential isolation", () => {
  it("fails closed: an agent without its own key gets an error naming the variable (and, for the log, its .env), even with main's key in the environment", async () => {
    const support = profile(await config(), "support");
    const events = await collect(createAgentRunner().run(makeTurn(support, "hello")));
    expect(events).toHaveLength(1);
    const end = terminal(events);
    expect(end).toMatchObject({ type: "error", code: "missing_credentials" });
    if (end.type === "error") {
      expect(end.message).toContain("OPENAI_API_KEY");
      // The file is the operator's business: the log gets it, the chat user does not.
      expect(end.message).not.toContain(home.dir);
      expect(end.detail).toContain(join(home.dir, "agents", "support", ".env"));
      expect(end.message).not.toContain("sk-main-key");
    }
    expect(stub.requests).toHaveLength(0);
  });

  it("takes the key from the turn's agent, not from the scope the runner is called in", async () => {
    const cfg = await config();
    const events = await useAgent(profile(cfg, "main"), () =>
      collect(createAgentRunner().run(makeTurn(profile(cfg, "support"), "hi"))),
    );
    expect(terminal(events)).toMatchObject({ type: "error", code: "missing_credentials" });
    expect(stub.requests).toHaveLength(0);
  });

  it("uses main's key for main and for an agent with secrets: inherit", async () => {
    const cfg = await config();
    const runner = createAgentRunner();
    for (const id of ["main", "shared"]) {
      expect(terminal(await collect(runner.run(makeTurn(profile(cfg, id), `hi from ${id}`))))).toMatchObject({
        type: "finish",
      });
    }
    expect(stub.requestHeaders.map((h) => h.authorization)).toEqual([
      "Bearer sk-main-key",
      "Bearer sk-main-key",
    ]);
  });

  it("sends each agent's own key when turns of several agents run at once", async () => {
    const cfg = await config();
    mkdirSync(join(home.dir, "agents", "support"), { recursive: true });
    writeFileSync(join(home.dir, "agents", "support", ".env"), "OPENAI_API_KEY=sk-support-own\n");
    stub.setLatency(5);
    const runner = createAgentRunner();
    const ids = ["main", "support", "mapped", "support", "main", "mapped"];
    const results = await Promise.all(
      ids.map((id, i) => collect(runner.run(makeTurn(profile(cfg, id), `turn ${i} of ${id}`)))),
    );
    for (const events of results) expect(terminal(events)).toMatchObject({ type: "finish" });
    const expected: Record<string, string> = {
      main: "sk-main-key",
      support: "sk-support-own",
      mapped: "sk-from-config-map",
    };
    for (const [i, body] of stub.requests.entries()) {
      const text = String(body.messages.at(-1)!.content);
      const id = /of (\w+)$/.exec(text)![1]!;
      expect(stub.requestHeaders[i]!.authorization).toBe(`Bearer ${expected[id]}`);
    }
    expect(runner.cachedProviders()).toBe(3);
  });

  it("shares one provider client between agents on the same endpoint and key, and keeps keys apart", async () => {
    const cfg = await config();
    mkdirSync(join(home.dir, "agents", "support"), { recursive: true });
    writeFileSync(join(home.dir, "agents", "support", ".env"), "OPENAI_API_KEY=sk-support-own\n");
    const runner = createAgentRunner();
    expect(runner.cachedProviders()).toBe(0);
    for (const id of ["main", "shared", "main", "support"])
      expect(terminal(await collect(runner.run(makeTurn(profile(cfg, id), `hi from ${id}`))))).toMatchObject({
        type: "finish",
      });
    expect(stub.requestHeaders.map((h) => h.authorization)).toEqual([
      "Bearer sk-main-key",
      "Bearer sk-main-key",
      "Bearer sk-main-key",
      "Bearer sk-support-own",
    ]);
    // main and shared (secrets: inherit) use one client; support's own key gets its own.
    expect(runner.cachedProviders()).toBe(2);
  });

  it("picks up a rotated key from the agent's .env", async () => {
    const cfg = await config();
    const dir = join(home.dir, "agents", "support");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".env"), "OPENAI_API_KEY=sk-old\n");
    const runner = createAgentRunner();
    await collect(runner.run(makeTurn(profile(cfg, "support"), "one")));
    writeFileSync(join(dir, ".env"), "OPENAI_API_KEY=sk-rotated-key\n");
    await collect(runner.run(makeTurn(profile(cfg, "support"), "two")));
    expect(stub.requestHeaders.map((h) => h.authorization)).toEqual([
      "Bearer sk-old",
      "Bearer sk-rotated-key",
    ]);
    expect(runner.cachedProviders()).toBe(1);
  });

  it("fails closed for anthropic too, naming ANTHROPIC_API_KEY", async () => {
    const writer = profile(await config(), "writer");
    const end = terminal(await collect(createAgentRunner().run(makeTurn(writer, "hello"))));
    expect(end).toMatchObject({
      type: "error",
      code: "missing_credentials",
      message: expect.stringContaining("ANTHROPIC_API_KEY"),
    });
    if (end.type === "error") expect(end.detail).toContain(join(home.dir, "agents", "writer", ".env"));
  });
});
