import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  approvePairing,
  buildConfig,
  createGateway,
  type GatewayRuntime,
  memoryLogger,
  openSessionStore,
  type SessionStore,
  sqliteDatabase,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, platform, TestAdapter, TestNetwork } from "../src/index.ts";

const HOUR = 3_600_000;

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
  clock: { now: number };
  logger: ReturnType<typeof memoryLogger>;
}
const open: Setup[] = [];

/** A gateway on the test platform whose account config is `account`, with one clock for gateway and store. */
async function setup(account: Record<string, unknown> = {}): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-pairing-"));
  const clock = { now: Date.UTC(2026, 11, 1, 12) };
  const config = buildConfig(
    // Turns start at once: the tests time replies.
    { agents: { main: {} }, platforms: { test: { ...account } }, session: { debounce_s: 0 } },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"), { now: () => clock.now });
  const logger = memoryLogger();
  const gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    logger,
    adapters: [new TestAdapter({ network: net })],
    retry: { baseDelayMs: 10 },
    now: () => new Date(clock.now),
  });
  await gateway.start();
  const s = { gateway, net, store, home, clock, logger };
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

const dm = (userId: string, text: string) => ({
  chatType: "dm" as const,
  chatId: `dm-${userId}`,
  userId,
  text,
});
const codeIn = (text: string) => /pairing code (?:is )?([A-Z2-9]{8})/.exec(text)?.[1];

describe("pairing on the test platform", () => {
  it("a stranger's DM gets a code, not the agent; once approved, the next message is answered", async () => {
    const { net, gateway, store } = await setup();
    const outcome = await gateway.dispatch({
      platform: "test",
      account: "default",
      messageId: "p1",
      chat: { id: "dm-7", type: "dm" },
      user: { id: "7", name: "Ada" },
      text: "hello?",
    });
    expect(outcome).toEqual({ status: "ignored", reason: "pairing" });
    const sent = await net.waitForSent((m) => m.chatId === "dm-7");
    const code = codeIn(sent.text)!;
    expect(sent.text).toContain(`switchboard pairing approve ${code}`);
    expect(sent.text).toContain("expires in 60 min");
    expect(await store.list({ includeEnded: true })).toEqual([]);

    await approvePairing(store, code.toLowerCase(), "test:owner");
    await net.inject(dm("7", "now?"));
    expect((await net.waitForSent((m) => m.text.includes("now?"))).text).toBe("[main] now?");
    const audit = await store.audit.list({ action: "pairing.approve" });
    expect(audit.map((e) => [e.actor, e.target])).toEqual([["test:owner", "test:7"]]);
  });

  it("reminds a stranger of their live code; an expired code cannot be approved and a new one is given", async () => {
    const { net, store, clock } = await setup();
    await net.inject(dm("8", "hi"));
    const first = codeIn((await net.waitForSent((m) => m.chatId === "dm-8")).text)!;
    await net.inject(dm("8", "hi again"));
    await net.waitForSent((m) => m.text.includes(`code ${first} is still waiting`));

    clock.now += HOUR + 1;
    await expect(approvePairing(store, first, "test:owner")).rejects.toThrow(/no pending pairing request/);
    await net.inject(dm("8", "still there?"));
    const next = await net.waitForSent((m) => m.chatId === "dm-8" && !m.text.includes(first));
    expect(codeIn(next.text)).toMatch(/^[A-Z2-9]{8}$/);
    expect(await store.pairing.isApproved("test", "default", "8")).toBe(false);
  });

  it("rate-limits pairing replies per user", async () => {
    const { net, gateway, clock } = await setup({ pairing: { per_user_per_hour: 2 } });
    for (const t of ["a", "b", "c", "d"]) await net.inject(dm("9", t));
    await gateway.idle();
    expect(net.sent().filter((m) => m.chatId === "dm-9")).toHaveLength(2);
    clock.now += HOUR / 2 + 60_000;
    await net.inject(dm("9", "e"));
    await gateway.idle();
    expect(net.sent().filter((m) => m.chatId === "dm-9")).toHaveLength(3);
  });

  it("a flood of strangers cannot grow the pending list past max_pending", async () => {
    const { net, store, gateway, logger } = await setup({ pairing: { max_pending: 3 } });
    for (let i = 0; i < 20; i++) await net.inject(dm(`f${i}`, "let me in"));
    await gateway.idle();
    expect(await store.pairing.pending()).toHaveLength(3);
    expect(net.sent()).toHaveLength(3);
    // Said once, not once per stranger; and strangers past the bound leave no rate bucket behind.
    expect(
      logger.entries.filter((e) => e.level === "warn" && String(e.msg).includes("max_pending")),
    ).toHaveLength(1);
    const buckets = sqliteDatabase(store).prepare("SELECT COUNT(*) FROM rate_buckets").pluck().get();
    expect(buckets).toBe(3);
  });

  it("strangers in groups get nothing; allowed_users means deny by default; dm_policy open answers anyone", async () => {
    const group = await setup();
    await group.net.inject({ chatType: "group", chatId: "g1", userId: "5", text: "hi" });
    await group.gateway.idle();
    expect(group.net.sent()).toEqual([]);

    const listed = await setup({ allowed_users: ["1"] });
    expect(
      await listed.gateway.dispatch({
        platform: "test",
        account: "default",
        messageId: "x1",
        chat: { id: "dm-5", type: "dm" },
        user: { id: "5" },
        text: "hi",
      }),
    ).toEqual({ status: "ignored", reason: "unauthorized" });
    expect(await listed.store.pairing.pending()).toEqual([]);

    const openDm = await setup({ dm_policy: "open" });
    await openDm.net.inject(dm("5", "hi open"));
    expect((await openDm.net.waitForSent((m) => m.text.includes("hi open"))).text).toBe("[main] hi open");
  });

  it("/pair lets an admin list and approve this account's codes; others are refused", async () => {
    const { net } = await setup({ admins: ["boss"] });
    await net.inject(dm("6", "knock knock"));
    const code = codeIn((await net.waitForSent((m) => m.chatId === "dm-6")).text)!;
    await net.inject(dm("6", "/pair approve " + code));
    await net.waitForSent((m) => m.chatId === "dm-6" && m.text.includes("still waiting"));

    await net.inject(dm("boss", "/pair"));
    await net.waitForSent((m) => m.chatId === "dm-boss" && m.text.includes(`${code}  6`));
    await net.inject(dm("boss", `/pair approve ${code}`));
    await net.waitForSent((m) => m.text === "Approved test:6: their next message is answered.");
    await net.waitForSent((m) => m.chatId === "dm-6" && m.text.startsWith("The owner approved you"));
    await net.inject(dm("6", "thanks"));
    expect((await net.waitForSent((m) => m.text.includes("thanks"))).text).toBe("[main] thanks");
    await net.inject(dm("boss", "/pair revoke 6"));
    await net.waitForSent((m) => m.text === "Revoked test:6.");
  });
});
