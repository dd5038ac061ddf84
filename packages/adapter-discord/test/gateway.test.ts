import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type DispatchOutcome,
  type GatewayRuntime,
  type InboundMessage,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type DiscordAdapterConfig, platform } from "../src/index.ts";
import { createFakeDiscord, type FakeDiscord, snowflake } from "./fake-discord.ts";

// End to end: the real adapter against the fake Discord, through the real gateway and the echo agent.

interface Harness {
  fake: FakeDiscord;
  gateway: GatewayRuntime;
  store: SessionStore;
  home: string;
  outcomes: Array<{ inbound: InboundMessage; outcome: DispatchOutcome }>;
  outcomeFor(text: string): Promise<DispatchOutcome>;
}

let h: Harness | undefined;

async function startGateway(discord: Record<string, unknown>, routes: unknown[] = []): Promise<Harness> {
  const fake = await createFakeDiscord();
  const home = mkdtempSync(join(tmpdir(), "sb-discord-e2e-"));
  const config = buildConfig(
    {
      agents: { main: {}, support: {}, ops: {} },
      routes,
      platforms: {
        discord: {
          ...("accounts" in discord ? {} : { token: fake.bot().token }),
          api_url: fake.apiUrl,
          global_requests_per_second: 10_000,
          allow_all_users: true,
          ...discord,
        },
      },
      api_server: { enabled: false },
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { discord: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const outcomes: Harness["outcomes"] = [];
  const adapters = [...(config.platformAccounts.get("discord") ?? [])].map(([account, cfg]) =>
    platform.create(cfg as DiscordAdapterConfig, { account }),
  );
  const gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    adapters,
    retry: { baseDelayMs: 20 },
    onDispatch: (inbound, outcome) => outcomes.push({ inbound, outcome }),
  });
  await gateway.start();
  const outcomeFor = async (text: string): Promise<DispatchOutcome> => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const found = outcomes.find((o) => o.inbound.text === text);
      if (found) return found.outcome;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no dispatch for ${text}`);
  };
  h = { fake, gateway, store, home, outcomes, outcomeFor };
  return h;
}

afterEach(async () => {
  if (!h) return;
  await h.gateway.stop({ timeoutMs: 2000 });
  await h.fake.close();
  await h.store.close();
  rmSync(h.home, { recursive: true, force: true });
  h = undefined;
});

describe("Discord through the gateway", () => {
  it("answers in a guild channel only when mentioned, by default", async () => {
    const { fake, outcomeFor } = await startGateway({});
    await fake.inject({ chatType: "group", chatId: "4700", userId: "2001", text: "just chatting" });
    expect(await outcomeFor("just chatting")).toEqual({ status: "ignored", reason: "not-mentioned" });

    await fake.inject({
      chatType: "group",
      chatId: "4700",
      userId: "2001",
      text: "status please",
      mention: true,
    });
    const reply = await fake.waitForSent((s) => s.text.includes("status please"));
    expect(reply).toMatchObject({ chatId: "4700", text: "[main] status please", account: "default" });
    expect(reply.threadId).toBeUndefined();
    expect(await outcomeFor("status please")).toMatchObject({
      status: "queued",
      agentId: "main",
      sessionKey: "agent:main:discord:group:4700:2001",
    });
    expect(fake.sent().some((s) => s.text.includes("just chatting"))).toBe(false);
  });

  it("answers every guild message when require_mention is false", async () => {
    const { fake } = await startGateway({ require_mention: false });
    await fake.inject({ chatType: "group", chatId: "4701", userId: "2001", text: "no ping needed" });
    expect((await fake.waitForSent((s) => s.text.includes("no ping needed"))).text).toBe(
      "[main] no ping needed",
    );
  });

  it("routes a thread to the agent of its parent channel by parent_chat_id, and replies in the thread", async () => {
    const { fake, outcomeFor } = await startGateway({}, [
      { match: { platform: "discord", parent_chat_id: "4800" }, agent: "support" },
    ]);
    await fake.inject({
      chatType: "thread",
      chatId: "6800",
      threadId: "6800",
      parentChatId: "4800",
      userId: "2001",
      text: "my order is late",
      mention: true,
    });
    const reply = await fake.waitForSent((s) => s.text.includes("my order is late"));
    expect(reply).toMatchObject({ chatId: "6800", threadId: "6800", text: "[support] my order is late" });
    expect(await outcomeFor("my order is late")).toMatchObject({
      agentId: "support",
      sessionKey: "agent:support:discord:thread:6800:6800",
    });

    // The parent channel itself is not matched by parent_chat_id, and a thread elsewhere stays with main.
    await fake.inject({
      chatType: "group",
      chatId: "4800",
      userId: "2001",
      text: "in the channel",
      mention: true,
    });
    await fake.inject({
      chatType: "thread",
      chatId: "6900",
      threadId: "6900",
      parentChatId: "4900",
      userId: "2001",
      text: "other thread",
      mention: true,
    });
    expect((await fake.waitForSent((s) => s.text.includes("in the channel"))).text).toBe(
      "[main] in the channel",
    );
    expect(await fake.waitForSent((s) => s.text.includes("other thread"))).toMatchObject({
      chatId: "6900",
      text: "[main] other thread",
    });
  });

  it("answers a DM without a mention, keyed by the DM channel", async () => {
    const { fake, outcomeFor } = await startGateway({}, [
      { match: { platform: "discord", chat_type: "dm" }, agent: "ops" },
    ]);
    await fake.inject({
      chatType: "dm",
      chatId: "5900",
      userId: "2002",
      userName: "Bob",
      text: "hello there",
    });
    const reply = await fake.waitForSent((s) => s.text.includes("hello there"));
    expect(reply).toMatchObject({ chatId: "5900", text: "[ops] hello there" });
    expect(reply.raw).toMatchObject({ message_reference: { message_id: expect.any(String) } });
    expect(await outcomeFor("hello there")).toMatchObject({
      agentId: "ops",
      sessionKey: "agent:ops:discord:dm:5900",
    });
    const typing = fake.calls.filter((c) => c.method === "POST" && c.path === "/channels/5900/typing");
    expect(typing.length).toBeGreaterThanOrEqual(1);
  });

  it("with auto_thread, moves a mentioned question into a new thread and keeps talking there without mentions", async () => {
    const { fake, outcomeFor } = await startGateway({ auto_thread: true });
    const id = snowflake();
    await fake.inject({
      chatType: "group",
      chatId: "4950",
      userId: "2001",
      text: "deploy checklist?",
      mention: true,
      messageId: id,
    });
    const first = await fake.waitForSent((s) => s.text.includes("deploy checklist?"));
    expect(first).toMatchObject({ chatId: id, threadId: id });
    expect(await outcomeFor("deploy checklist?")).toMatchObject({
      sessionKey: `agent:main:discord:thread:${id}:${id}`,
    });

    await fake.inject({
      chatType: "thread",
      chatId: id,
      threadId: id,
      parentChatId: "4950",
      userId: "2001",
      text: "and rollback?",
    });
    expect(await fake.waitForSent((s) => s.text.includes("and rollback?"))).toMatchObject({
      chatId: id,
      threadId: id,
    });
    expect(await outcomeFor("and rollback?")).toMatchObject({
      sessionKey: `agent:main:discord:thread:${id}:${id}`,
    });
  });

  it("serves two bot accounts, each replying through itself", async () => {
    const { fake, outcomeFor } = await startGateway(
      { accounts: { default: { token: "fake-token-default" }, second: { token: "fake-token-second" } } },
      [{ match: { platform: "discord", account: "second" }, agent: "ops" }],
    );
    await fake.inject({
      account: "second",
      chatType: "dm",
      chatId: "5950",
      userId: "2001",
      text: "to the second bot",
    });
    const reply = await fake.waitForSent((s) => s.text.includes("to the second bot"));
    expect(reply).toMatchObject({ account: "second", text: "[ops] to the second bot" });
    expect(await outcomeFor("to the second bot")).toMatchObject({
      sessionKey: "agent:ops:discord@second:dm:5950",
    });
  });
});
