import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  definePlugin,
  type GatewayRuntime,
  memoryLogger,
  openSessionStore,
  type Plugin,
  type SessionStore,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, platform, TestAdapter, TestNetwork } from "../src/index.ts";

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
  logger: ReturnType<typeof memoryLogger>;
}
const open: Setup[] = [];

async function setup(raw: Record<string, unknown> = {}, plugins: Plugin[] = []): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-dispatch-"));
  const config = buildConfig(
    {
      agents: { main: {}, alpha: {}, beta: {} },
      routes: [{ match: { platform: "test", chat_id: "alpha-chat" }, agent: "alpha" }],
      platforms: { test: { allow_all_users: true, accounts: { default: {}, second: {} } } },
      ...raw,
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const logger = memoryLogger();
  const gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    logger,
    plugins,
    adapters: [new TestAdapter({ network: net }), new TestAdapter({ network: net, account: "second" })],
    retry: { baseDelayMs: 10 },
    typingIntervalMs: 50,
  });
  await gateway.start();
  const s = { gateway, net, store, home, logger };
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.gateway.stop({ timeoutMs: 1000 });
    await s.store.close();
    rmSync(s.home, { recursive: true, force: true });
  }
});

const dm = (text: string, extra: Record<string, unknown> = {}) => ({
  chatType: "dm" as const,
  chatId: "u1",
  userId: "u1",
  text,
  ...extra,
});

describe("gateway dispatcher", () => {
  it("routes a chat to the agent of its route and replies in the same chat", async () => {
    const { net } = await setup();
    await net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "hi alpha" });
    await net.inject(dm("hi main"));
    expect((await net.waitForSent((m) => m.text.includes("hi alpha"))).chatId).toBe("alpha-chat");
    expect((await net.waitForSent((m) => m.text.includes("hi main"))).text).toBe("[main] hi main");
    expect((await net.waitForSent((m) => m.text.includes("hi alpha"))).text).toBe("[alpha] hi alpha");
  });

  it("ignores a duplicate delivery of the same platform message", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("once", { messageId: "dup-1" }));
    await net.inject(dm("once", { messageId: "dup-1" }));
    await net.waitForSent((m) => m.text.includes("once"));
    await gateway.idle();
    expect(net.sent().filter((m) => m.text.includes("once"))).toHaveLength(1);
  });

  it("with nothing configured, answers a stranger's DM with a pairing code instead of the agent", async () => {
    const { net, gateway } = await setup({ platforms: { test: { accounts: { default: {} } } } });
    await net.inject(dm("let me in"));
    await gateway.idle();
    expect(net.sent().map((m) => m.text.split("\n")[0])).toEqual([
      expect.stringMatching(/^I don't know you yet\. Your pairing code is [A-Z2-9]{8}\.$/),
    ]);
  });

  it("denies everyone with dm_policy: deny and no users allowed, warning once", async () => {
    const { net, gateway, logger } = await setup({
      platforms: { test: { dm_policy: "deny", accounts: { default: {} } } },
    });
    await net.inject(dm("let me in"));
    await net.inject(dm("please"));
    await gateway.idle();
    expect(net.sent()).toHaveLength(0);
    expect(logger.entries.filter((e) => e.level === "warn" && e.msg.includes("allowed_users"))).toHaveLength(
      1,
    );
  });

  it("allows only the listed users", async () => {
    const { net, gateway } = await setup({
      platforms: { test: { allowed_users: ["42"], accounts: { default: {} } } },
    });
    await net.inject({ chatType: "dm", chatId: "7", userId: "7", text: "stranger" });
    await net.inject({ chatType: "dm", chatId: "42", userId: "42", text: "friend" });
    await net.waitForSent((m) => m.text.includes("friend"));
    await gateway.idle();
    expect(net.sent().some((m) => m.text.includes("stranger"))).toBe(false);
  });

  it("gates group messages on a mention when require_mention is set", async () => {
    const { net, gateway } = await setup({
      platforms: { test: { allow_all_users: true, require_mention: true, accounts: { default: {} } } },
    });
    await net.inject({ chatType: "group", chatId: "g", userId: "u", text: "no mention" });
    await net.inject({ chatType: "group", chatId: "g", userId: "u", text: "with mention", mention: true });
    await net.inject(dm("dm needs none"));
    await net.waitForSent((m) => m.text.includes("with mention"));
    await net.waitForSent((m) => m.text.includes("dm needs none"));
    await gateway.idle();
    expect(net.sent().some((m) => m.text.includes("no mention"))).toBe(false);
  });

  it("/new starts a new session id and /status reports it", async () => {
    const { net, gateway, store } = await setup();
    await net.inject(dm("first"));
    await net.waitForSent((m) => m.text.includes("first"));
    await gateway.idle();
    const before = (await store.findActive("agent:main:test:dm:u1"))!.id;
    await net.inject(dm("/new"));
    const reply = await net.waitForSent((m) => m.text.startsWith("Started a new session"));
    const after = (await store.findActive("agent:main:test:dm:u1"))!.id;
    expect(after).not.toBe(before);
    expect(reply.text).toContain(after);
    expect((await store.get(before))!.endedAt).not.toBeNull();
    await net.inject(dm("/status"));
    const status = await net.waitForSent((m) => m.text.startsWith("Agent: main"));
    expect(status.text).toContain(`Session: ${after}`);
    expect(status.text).toContain("Model: echo");
  });

  it("/agent explains the route that chose the agent", async () => {
    const { net } = await setup();
    await net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "/agent" });
    const r = await net.waitForSent((m) => m.text.includes("served by agent"));
    expect(r.text).toContain('agent "alpha"');
    expect(r.text).toContain("routes[0]");
    await net.inject(dm("/agent"));
    expect((await net.waitForSent((m) => m.text.includes('agent "main"'))).text).toContain("default agent");
  });

  it("/stop aborts the running turn", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("slow [[sleep:5000]]"));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await net.inject(dm("/stop"));
    await net.waitForSent((m) => m.text === "Stopped.");
    await gateway.idle();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(net.sent().some((m) => m.text.includes("slow"))).toBe(false);
  });

  it("collects messages that arrive during a turn into the next turn", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("one [[sleep:300]]"));
    await new Promise((r) => setTimeout(r, 30));
    await net.inject(dm("two"));
    await net.inject(dm("three"));
    await gateway.idle();
    const replies = net.sent().map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[1]).toBe("[main] two\n\nthree");
  });

  it("runs different sessions concurrently", async () => {
    const { net, gateway } = await setup();
    const t0 = Date.now();
    await net.inject({ chatType: "dm", chatId: "a", userId: "a", text: "[[sleep:800]] a" });
    await net.inject({ chatType: "dm", chatId: "b", userId: "b", text: "[[sleep:800]] b" });
    await gateway.idle();
    expect(net.sent()).toHaveLength(2);
    // One after the other would take at least 1,600 ms.
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("refreshes the typing indicator while a turn runs", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("[[sleep:400]] typing"));
    await gateway.idle();
    // Once at the start, then every 50 ms while the turn runs.
    expect(net.typing.length).toBeGreaterThanOrEqual(3);
  });

  it("persists the transcript and token usage", async () => {
    const { net, gateway, store } = await setup();
    await net.inject(dm("remember this"));
    await gateway.idle();
    const s = (await store.findActive("agent:main:test:dm:u1"))!;
    const h = await store.history(s.id);
    expect(h.map((m) => [m.role, m.content])).toEqual([
      ["user", "remember this"],
      ["assistant", "[main] remember this"],
    ]);
    expect((await store.get(s.id))!.outputTokens).toBeGreaterThan(0);
  });

  it("replies through the account and thread the message came in on", async () => {
    const { net } = await setup();
    await net.inject({
      account: "second",
      chatType: "group",
      chatId: "g2",
      threadId: "t9",
      userId: "u",
      text: "threaded",
    });
    const r = await net.waitForSent((m) => m.text.includes("threaded"));
    expect(r.account).toBe("second");
    expect(r.threadId).toBe("t9");
  });

  it("splits a long reply, every chunk answering the same message with its part number", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("[[long:9000]]", { messageId: "ask-1" }));
    await gateway.idle();
    const chunks = net.sent().map(
      (m) =>
        m.raw as {
          address: { replyToMessageId?: string };
          message: { part?: { index: number; count: number } };
        },
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    chunks.forEach((c, i) => {
      expect(c.address.replyToMessageId).toBe("ask-1");
      expect(c.message.part).toEqual({ index: i, count: chunks.length });
    });
  });

  it("retries a send after a 429 and after 5xx errors", async () => {
    const { net } = await setup();
    net.failNextSends(429, 1, 0);
    net.failNextSends(503, 2);
    await net.inject(dm("persist"));
    await net.waitForSent((m) => m.text.includes("persist"));
  });

  it("lets a selectAgent hook override routes, and survives a throwing hook", async () => {
    const hooks: string[] = [];
    const plugins = [
      definePlugin({
        name: "broken",
        hooks: {
          selectAgent: () => {
            throw new Error("boom");
          },
        },
      }),
      definePlugin({
        name: "vip",
        hooks: {
          selectAgent: ({ source }) => (source.userId === "vip" ? "beta" : undefined),
          onSessionStart: ({ agentId }) => {
            hooks.push(`start:${agentId}`);
          },
        },
      }),
    ];
    const { net, logger } = await setup({}, plugins);
    await net.inject({ chatType: "group", chatId: "alpha-chat", userId: "vip", text: "who serves me" });
    expect((await net.waitForSent((m) => m.text.includes("who serves me"))).text).toContain("[beta]");
    expect(hooks).toContain("start:beta");
    expect(logger.entries.some((e) => e.level === "error" && e.msg.includes("broken.selectAgent"))).toBe(
      true,
    );
  });

  it("runs programmatic turns with streamed events and stored history", async () => {
    const { gateway, store } = await setup();
    const handle = await gateway.turn({
      agentId: "alpha",
      source: { platform: "api_server", chatType: "dm", chatId: "c1" },
      input: [{ role: "user", content: "api hello" }],
    });
    const deltas: string[] = [];
    for await (const ev of handle.events) if (ev.type === "text-delta") deltas.push(ev.text);
    expect(deltas.join("")).toBe("[alpha] api hello");
    await gateway.idle();
    expect((await store.history(handle.sessionId)).map((m) => m.content)).toEqual([
      "api hello",
      "[alpha] api hello",
    ]);
    expect(handle.sessionKey).toBe("agent:alpha:api_server:dm:c1");
  });

  it("delivers proactive text through the right account", async () => {
    const { gateway, net } = await setup();
    await gateway.deliver(
      { platform: "test", account: "second", chatId: "c9", threadId: "t1" },
      "scheduled",
      { agentId: "beta" },
    );
    const r = await net.waitForSent((m) => m.text === "scheduled");
    expect(r).toMatchObject({ account: "second", chatId: "c9", threadId: "t1" });
  });

  it("drains a slow turn on stop", async () => {
    const { gateway, net } = await setup();
    await net.inject(dm("[[sleep:300]] draining"));
    await new Promise((r) => setTimeout(r, 20));
    await gateway.stop({ timeoutMs: 5000 });
    expect(net.sent().some((m) => m.text.includes("draining"))).toBe(true);
    const outcome = await gateway.dispatch({
      platform: "test",
      account: "default",
      messageId: "late",
      chat: { id: "u1", type: "dm" },
      user: { id: "u1" },
      text: "too late",
    });
    expect(outcome).toEqual({ status: "ignored", reason: "stopping" });
  });
});
