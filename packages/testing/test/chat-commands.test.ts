import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentRunner,
  type AgentTurn,
  approvePairing,
  buildConfig,
  COMMAND_TABLE,
  createGateway,
  type GatewayRuntime,
  memoryLogger,
  nativeCommands,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { platform, TestAdapter, TestNetwork } from "../src/index.ts";

/**
 * A runner that says which model answered and how much history it saw, so a test can tell `/model`, `/undo`,
 * `/retry`, `/resume` and `/compress` apart; a bare-model call (`plain`, what `/compress` makes) answers a
 * summary naming how many lines it was given.
 */
function modelRunner(): AgentRunner & { plainInputs: string[] } {
  const plainInputs: string[] = [];
  return {
    plainInputs,
    async *run(turn: AgentTurn) {
      const m = turn.input.at(-1);
      const input = typeof m?.content === "string" ? m.content : "";
      if (turn.plain) {
        plainInputs.push(input);
        const text = `SUMMARY of ${input.split("\n\n").length - 1} messages`;
        yield { type: "finish", text, usage: { inputTokens: 100, outputTokens: 5 } };
        return;
      }
      const text = `[${turn.agent.model.name}] ${input} (history ${turn.history.length})`;
      yield { type: "text-delta", text };
      yield { type: "finish", text, usage: { inputTokens: 10, outputTokens: 4 } };
    },
  };
}

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
  runner: ReturnType<typeof modelRunner>;
}
const open: Setup[] = [];

async function setup(): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-chat-cmds-"));
  const config = buildConfig(
    {
      agents: {
        main: {
          model: { provider: "echo", name: "small" },
          models: [{ provider: "echo", name: "large" }],
        },
        ops: { model: { provider: "echo", name: "ops-model" } },
      },
      routes: [{ match: { platform: "test", chat_id: "ops-room" }, agent: "ops" }],
      platforms: { test: { allowed_users: ["u1"], admins: ["boss"] } },
      // Turns start at once: the tests time replies.
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const runner = modelRunner();
  const gateway = createGateway({
    config,
    store,
    runner,
    logger: memoryLogger(),
    adapters: [new TestAdapter({ network: net })],
    retry: { baseDelayMs: 10 },
  });
  await gateway.start();
  const s = { gateway, net, store, home, runner };
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

/** Send `text` as `userId` in their DM (or `chatId`) and resolve with the next message sent to that chat. */
async function say(s: Setup, userId: string, text: string, chatId = `dm-${userId}`): Promise<string> {
  const before = s.net.sent().length;
  await s.net.inject({ chatType: chatId.startsWith("dm-") ? "dm" : "group", chatId, userId, text });
  const sent = await s.net.waitForSent((m) => m.chatId === chatId && s.net.sent().indexOf(m) >= before);
  await s.gateway.idle();
  return sent.text;
}

describe("chat commands on the test platform", () => {
  it("publishes the command table as the account's native menu at start", async () => {
    const { net } = await setup();
    const menu = net.commandMenus.get("default");
    expect(menu).toEqual(nativeCommands());
    expect(menu?.map((c) => c.name)).toEqual(COMMAND_TABLE.map((e) => e.name));
    for (const name of [
      "model",
      "whoami",
      "retry",
      "undo",
      "usage",
      "sessions",
      "resume",
      "compress",
      "pair",
    ])
      expect(menu?.map((c) => c.name)).toContain(name);
  });

  it("/help lists every command, one line each", async () => {
    const s = await setup();
    const lines = (await say(s, "u1", "/help")).split("\n");
    expect(lines).toEqual(COMMAND_TABLE.map((e) => `/${e.name} — ${e.description}`));
  });

  it("/whoami shows the id, the tier (admin, allowed, paired) and the agent of the chat", async () => {
    const s = await setup();
    expect(await say(s, "boss", "/whoami")).toBe(
      "Your id: boss (test)\nTier: admin (platforms.<name>.admins)\nAgent: main",
    );
    expect(await say(s, "u1", "/whoami", "ops-room")).toContain("Tier: allowed");
    expect(await say(s, "u1", "/whoami", "ops-room")).toContain("Agent: ops");
    // The account lists users, so strangers are denied by default: pair one by hand to see the paired tier.
    const req = await s.store.pairing.request({
      platform: "test",
      account: "default",
      userId: "p1",
      chatId: "dm-p1",
      code: "PAIRCODE",
      ttlMs: 60_000,
      maxPending: 5,
    });
    expect(req.status).toBe("created");
    await approvePairing(s.store, "PAIRCODE", "test");
    expect(await say(s, "p1", "/whoami")).toContain("Tier: paired (approved by the owner)");
  });

  it("/model shows the allowed models; only an admin switches, and the next turn runs on it", async () => {
    const s = await setup();
    expect(await say(s, "u1", "hi")).toBe("[small] hi (history 0)");
    expect(await say(s, "u1", "/model")).toBe(
      "This session runs on echo/small. Allowed models of main:\n• echo/small\n  echo/large\nAdmins switch with /model <name>.",
    );
    expect(await say(s, "u1", "/model large")).toBe(
      "Only admins may switch the model (platforms.<name>.admins).",
    );
    expect(await say(s, "boss", "/model huge")).toContain('"huge" is not one of main\'s models');
    expect(await say(s, "boss", "/model large")).toBe("This session now runs on echo/large.");
    expect(await say(s, "boss", "hello")).toBe("[large] hello (history 0)");
    // The switch is this session's: u1's session still runs on the agent's model.
    expect(await say(s, "u1", "again")).toBe("[small] again (history 2)");
  });

  it("/agent <id> is refused to non-admins; an admin's switch serves the chat with that agent at once", async () => {
    const s = await setup();
    expect(await say(s, "u1", "/agent ops")).toBe(
      "Only admins may switch the agent (platforms.<name>.admins).",
    );
    expect(await say(s, "boss", "/agent nope")).toBe('There is no agent "nope": use one of main, ops.');
    expect(await say(s, "boss", "/agent ops")).toBe(
      'This chat is now served by agent "ops" from the next message (/agent main switches back).',
    );
    expect(await say(s, "boss", "who?")).toBe("[ops-model] who? (history 0)");
    expect(await say(s, "boss", "/agent")).toBe(
      'This chat is served by agent "ops": switched with /agent by test:boss.',
    );
    expect(await say(s, "boss", "/agent main")).toBe('This chat is served by its routed agent "main" again.');
    expect(await say(s, "boss", "back?")).toBe("[small] back? (history 0)");
    expect((await s.store.audit.list({ action: "agent.switch" })).map((e) => e.target)).toEqual([
      "test:dm-boss",
      "test:dm-boss",
    ]);
  });

  it("/undo drops the last exchange; /retry runs the last message again in its place", async () => {
    const s = await setup();
    await say(s, "u1", "one");
    await say(s, "u1", "two");
    expect(await say(s, "u1", "/undo")).toBe('Undone: "two" and 1 message after it.');
    expect(await say(s, "u1", "three")).toBe("[small] three (history 2)");
    expect(await say(s, "u1", "/retry")).toBe("[small] three (history 2)");
    const session = (await s.store.list({ limit: 1 }))[0]!;
    expect((await s.store.history(session.id)).map((m) => m.content)).toEqual([
      "one",
      "[small] one (history 0)",
      "three",
      "[small] three (history 2)",
    ]);
  });

  it("/usage reports this session's tokens and cost, and today's spend", async () => {
    const s = await setup();
    await say(s, "u1", "count me");
    const text = await say(s, "u1", "/usage");
    expect(text.split("\n")[0]).toBe("This session: 14 tokens (10 in / 4 out), $0.0000");
    expect(text).toMatch(/today: 14 tokens/);
  });

  it("/sessions lists this chat's sessions; /resume <n> continues one with its history", async () => {
    const s = await setup();
    await say(s, "u1", "first topic");
    await say(s, "u1", "/new");
    await say(s, "u1", "second topic");
    const list = await say(s, "u1", "/sessions");
    expect(list).toMatch(/^1\. second topic — 2 messages, .* \(current\)\n2\. first topic — 2 messages, /);
    expect(await say(s, "u1", "/resume 9")).toBe("Usage: /resume <1-2> (see /sessions).");
    expect(await say(s, "u1", "/resume 2")).toMatch(/^Resumed: first topic — 2 messages/);
    expect(await say(s, "u1", "and more")).toBe("[small] and more (history 2)");
    expect(await say(s, "u1", "/sessions")).toMatch(
      /^1\. first topic — 4 messages, .* \(current\)\n2\. second topic/,
    );
  });

  it("/compress summarises the session with the agent's model into a fresh session", async () => {
    const s = await setup();
    await say(s, "u1", "alpha");
    await say(s, "u1", "beta");
    const reply = await say(s, "u1", "/compress");
    expect(reply).toMatch(/^Compressed 4 messages into a new session \(.+\)\.$/);
    expect(s.runner.plainInputs[0]).toContain("user: alpha");
    expect(s.runner.plainInputs[0]).toContain("assistant: [small] beta (history 2)");
    expect(await say(s, "u1", "gamma")).toBe("[small] gamma (history 1)");
    // The summary call is accounted like a turn: its tokens count against the old session.
    const rows = await s.store.usage.summary({ groupBy: ["session"] });
    expect(rows.map((r) => r.inputTokens + r.outputTokens).sort((a, b) => a - b)).toEqual([14, 133]);
    const current = await s.store.findActive("agent:main:test:dm:dm-u1");
    expect((await s.store.history(current!.id))[0]).toMatchObject({
      role: "system",
      content: expect.stringContaining("SUMMARY of 4 messages"),
    });
  });
});
