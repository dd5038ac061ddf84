import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Address,
  type AgentRunner,
  buildConfig,
  createGateway,
  type GatewayRuntime,
  type Logger,
  memoryLogger,
  type OutboundMessage,
  openSessionStore,
  type SentMessage,
  type SessionStore,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, platform, TestAdapter, TestNetwork } from "../src/index.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What another process would read from `state.db` right now: a second connection sees only committed rows. */
async function committedAssistantTexts(file: string): Promise<string[]> {
  const reader = openSessionStore(file);
  try {
    const out: string[] = [];
    for (const s of await reader.list({ includeEnded: true }))
      for (const m of await reader.history(s.id, 100)) if (m.role === "assistant") out.push(m.content);
    return out;
  } finally {
    await reader.close();
  }
}

function setup(
  adapters: TestAdapter[] = [],
  options: { runner?: AgentRunner; logger?: Logger; agents?: Record<string, unknown> } = {},
): { gateway: GatewayRuntime; store: SessionStore; file: string } {
  const home = mkdtempSync(join(tmpdir(), "sb-durable-"));
  const file = join(home, "state.db");
  const config = buildConfig(
    {
      agents: options.agents ?? { main: {} },
      platforms: { test: { allow_all_users: true } },
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const store = openSessionStore(file);
  const gateway = createGateway({
    config,
    store,
    runner: options.runner ?? createEchoRunner(),
    adapters,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  cleanups.push(async () => {
    await gateway.stop({ timeoutMs: 1000 });
    await store.close();
    rmSync(home, { recursive: true, force: true });
  });
  return { gateway, store, file };
}

describe("commit before acknowledge", () => {
  it("ends a programmatic turn only once its reply is committed", async () => {
    const { gateway, file } = setup();
    const handle = await gateway.turn({
      agentId: "main",
      source: { platform: "api_server", chatType: "dm", chatId: "c1" },
      sessionId: "api:main:c1",
      input: [{ role: "user", content: "keep this" }],
    });
    let atFinish: string[] | undefined;
    for await (const ev of handle.events) {
      if (ev.type === "finish") atFinish = await committedAssistantTexts(file);
    }
    expect(atFinish).toEqual(["[main] keep this"]);
  });

  it("commits a platform reply before the adapter is asked to send it", async () => {
    const seenAtSend: string[][] = [];
    let dbFile = "";
    class CheckingAdapter extends TestAdapter {
      override async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
        seenAtSend.push(await committedAssistantTexts(dbFile));
        return super.send(address, message);
      }
    }
    const net = new TestNetwork();
    const { gateway, file } = setup([new CheckingAdapter({ network: net })]);
    dbFile = file;
    await gateway.start();
    await net.inject({ chatType: "dm", chatId: "u1", userId: "u1", text: "hello there" });
    await net.waitForSent((m) => m.text.includes("hello there"));
    expect(seenAtSend).toEqual([["[main] hello there"]]);
  });
});

describe("what a failed turn tells a chat user", () => {
  it("shows no server path or internal URL, and logs the whole cause with agent and session", async () => {
    const runner: AgentRunner = {
      // biome-ignore lint/correctness/useYield: a turn that fails before its first token
      async *run() {
        throw new Error("cannot read /srv/agents/ops/.env while calling http://10.0.0.5:11434/v1/chat");
      },
    };
    const logger = memoryLogger();
    const net = new TestNetwork();
    const { gateway } = setup([new TestAdapter({ network: net })], { runner, logger });
    await gateway.start();
    await net.inject({ chatType: "dm", chatId: "u7", userId: "u7", text: "hi" });
    const sent = await net.waitForSent((m) => m.chatId === "u7");
    expect(sent.text).not.toContain("/srv/agents");
    expect(sent.text).not.toContain("10.0.0.5");
    const failed = logger.entries.find((e) => e.msg === "turn failed");
    expect(failed?.obj).toMatchObject({ agent: "main", session: expect.any(String), platform: "test" });
    const cause = String((failed?.obj as { cause?: string } | undefined)?.cause);
    expect(cause).toContain("/srv/agents/ops/.env");
    expect(cause).toContain("http://10.0.0.5:11434");
  });
});

describe("the overall turn limit on a platform", () => {
  it("stops a turn past agents.<id>.turn_timeout_s and tells the chat why", async () => {
    const net = new TestNetwork();
    const { gateway } = setup([new TestAdapter({ network: net })], {
      agents: { main: { turn_timeout_s: 0.2 } },
    });
    await gateway.start();
    const started = Date.now();
    await net.inject({ chatType: "dm", chatId: "u9", userId: "u9", text: "[[sleep:5000]] slow" });
    const sent = await net.waitForSent((m) => m.chatId === "u9", 3000);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(sent.text).toContain("agents.main.turn_timeout_s");
  });
});

describe("while the gateway stops", () => {
  it("refuses a new programmatic turn with shutting_down", async () => {
    const { gateway } = setup();
    const stopped = gateway.stop({ timeoutMs: 200 });
    await expect(
      gateway.turn({
        agentId: "main",
        source: { platform: "api_server", chatType: "dm", chatId: "late" },
        input: [{ role: "user", content: "late" }],
      }),
    ).rejects.toMatchObject({ code: "shutting_down" });
    await stopped;
  });
});
