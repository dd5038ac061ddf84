import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Address,
  buildConfig,
  createGateway,
  type GatewayRuntime,
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
function committedAssistantTexts(file: string): string[] {
  const reader = openSessionStore(file);
  try {
    return reader
      .list({ includeEnded: true })
      .flatMap((s) => reader.history(s.id, 100))
      .filter((m) => m.role === "assistant")
      .map((m) => m.content);
  } finally {
    reader.close();
  }
}

function setup(adapters: TestAdapter[] = []): { gateway: GatewayRuntime; store: SessionStore; file: string } {
  const home = mkdtempSync(join(tmpdir(), "sb-durable-"));
  const file = join(home, "state.db");
  const config = buildConfig(
    { agents: { main: {} }, platforms: { test: { allow_all_users: true } } },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const store = openSessionStore(file);
  const gateway = createGateway({ config, store, runner: createEchoRunner(), adapters });
  cleanups.push(async () => {
    await gateway.stop({ timeoutMs: 1000 });
    store.close();
    rmSync(home, { recursive: true, force: true });
  });
  return { gateway, store, file };
}

describe("commit before acknowledge", () => {
  it("ends a programmatic turn only once its reply is committed", async () => {
    const { gateway, file } = setup();
    const handle = await gateway.turn({
      agentId: "main",
      source: { platform: "api_server", chatId: "c1" },
      sessionId: "api:main:c1",
      input: [{ role: "user", content: "keep this" }],
    });
    let atFinish: string[] | undefined;
    for await (const ev of handle.events) {
      if (ev.type === "finish") atFinish = committedAssistantTexts(file);
    }
    expect(atFinish).toEqual(["[main] keep this"]);
  });

  it("commits a platform reply before the adapter is asked to send it", async () => {
    const seenAtSend: string[][] = [];
    let dbFile = "";
    class CheckingAdapter extends TestAdapter {
      override async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
        seenAtSend.push(committedAssistantTexts(dbFile));
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
