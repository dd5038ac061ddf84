import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTelegramAdapter, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";
import { configFor, sleepMs, testContext } from "./helpers.ts";

const text = (n: number) => ({ chatType: "dm" as const, chatId: "42", userId: "42", text: `m${n}` });

describe("long polling", () => {
  let fake: FakeTelegram;
  let stateDir: string;
  const adapters: TelegramAdapter[] = [];
  const make = () => {
    const a = createTelegramAdapter(configFor(fake, DEFAULT_BOT));
    adapters.push(a);
    return a;
  };

  beforeEach(async () => {
    fake = await FakeTelegram.start();
    stateDir = mkdtempSync(join(tmpdir(), "sb-tg-state-"));
  });
  afterEach(async () => {
    for (const a of adapters.splice(0)) await a.stop();
    await fake.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("resumes after a restart at the right offset: a new instance receives exactly 6 and 7", async () => {
    const first = make();
    const t1 = testContext();
    await first.start(t1.ctx);
    for (let n = 1; n <= 5; n++) await fake.inject(text(n));
    expect((await t1.waitForInbound(5)).map((m) => m.text)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    await first.stop();
    // stop() told Telegram that 1–5 are done.
    expect(fake.pending()).toEqual([]);

    await fake.inject(text(6));
    await fake.inject(text(7));
    const second = make();
    const t2 = testContext();
    await second.start(t2.ctx);
    await t2.waitForInbound(2);
    await sleepMs(300);
    expect(t2.inbound.map((m) => m.text)).toEqual(["m6", "m7"]);
  });

  it("does not repeat handled updates after a crash, thanks to the offset file in the state dir", async () => {
    const first = make();
    const t1 = testContext({
      stateDir,
      // The Bot API vanishes right as update 5 is handled: Telegram never learns that 5 was confirmed.
      dispatch: async (m) => {
        if (m.text === "m5") await fake.down();
      },
    });
    for (let n = 1; n <= 5; n++) await fake.inject(text(n));
    await first.start(t1.ctx);
    await t1.waitForInbound(5);
    await first.stop();
    await fake.up();
    expect(fake.pending()).toContain(5);
    const saved = JSON.parse(readFileSync(join(stateDir, `telegram-${DEFAULT_BOT.id}.offset.json`), "utf8"));
    expect(saved).toEqual({ update_id: 5 });

    await fake.inject(text(6));
    await fake.inject(text(7));
    const second = make();
    const t2 = testContext({ stateDir });
    await second.start(t2.ctx);
    await t2.waitForInbound(2);
    await sleepMs(300);
    expect(t2.inbound.map((m) => m.text)).toEqual(["m6", "m7"]);
  });

  it("resumes from the offset in the shared store (ctx.state) on another instance, not from the state dir", async () => {
    // What replicas share: a key-value table in the database; here a Map behind the same interface.
    const kv = new Map<string, string>();
    const state = {
      get: async (k: string) => kv.get(k),
      set: async (k: string, v: string) => void kv.set(k, v),
    };
    const first = make();
    const t1 = testContext({
      dispatch: async (m) => {
        if (m.text === "m3") await fake.down();
      },
    });
    t1.ctx.state = state;
    for (let n = 1; n <= 3; n++) await fake.inject(text(n));
    await first.start(t1.ctx);
    await t1.waitForInbound(3);
    await first.stop();
    await fake.up();
    // Telegram never learned that 3 was handled; the shared store did.
    expect(fake.pending()).toContain(3);
    expect(kv.get(`telegram:${DEFAULT_BOT.id}:offset`)).toBe("3");

    await fake.inject(text(4));
    const second = make();
    const t2 = testContext({ stateDir });
    t2.ctx.state = state;
    await second.start(t2.ctx);
    await t2.waitForInbound(1);
    await sleepMs(300);
    expect(t2.inbound.map((m) => m.text)).toEqual(["m4"]);
  });

  it("confirms an update only after core accepted it", async () => {
    let release!: () => void;
    const accepted = new Promise<void>((r) => (release = r));
    let called = false;
    const t = testContext({
      dispatch: () => {
        called = true;
        return accepted;
      },
    });
    await make().start(t.ctx);
    const id = await fake.injectUpdate("default", { message: fake.message(text(1)) });
    while (!called) await sleepMs(10);
    await sleepMs(150);
    // While dispatch is pending, no getUpdates moved past the update and Telegram still holds it.
    expect(fake.calls.some((c) => c.method === "getUpdates" && c.body.offset === id + 1)).toBe(false);
    expect(fake.pending()).toEqual([id]);
    release();
    await fake.waitForCall("getUpdates", (c) => c.body.offset === id + 1);
    expect(fake.pending()).toEqual([]);
  });

  it("survives the Bot API going away and coming back", async () => {
    const logger = memoryLogger();
    const t = testContext();
    const adapter = make();
    await adapter.start({ ...t.ctx, logger });
    await fake.inject(text(1));
    await t.waitForInbound(1);
    await fake.down();
    await sleepMs(700);
    await fake.up();
    await fake.inject(text(2));
    await t.waitForInbound(2, 8000);
    expect(t.inbound.map((m) => m.text)).toEqual(["m1", "m2"]);
    const failures = logger.entries.filter((e) => e.msg === "Telegram polling failed");
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(logger.entries.some((e) => e.msg === "Telegram polling recovered")).toBe(true);
  }, 15_000);

  it("waits Telegram's retry_after when getUpdates is rate limited", async () => {
    fake.failNext("getUpdates", 429, 1, 1);
    const t = testContext();
    await make().start(t.ctx);
    const started = Date.now();
    await fake.inject(text(1));
    await t.waitForInbound(1, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("removes a webhook before polling, since getUpdates is refused while one is set", async () => {
    await fake.injectUpdate("default", { message: fake.message(text(1)) });
    const t = testContext();
    await make().start(t.ctx);
    await t.waitForInbound(1);
    const methods = fake.calls.map((c) => c.method);
    expect(methods.indexOf("deleteWebhook")).toBeLessThan(methods.indexOf("getUpdates"));
  });

  it("stops promptly while a long poll is parked, leaving no sockets open", async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const before = sockets();
    const adapter = make();
    await adapter.start(testContext().ctx);
    await fake.waitForCall("getUpdates");
    await sleepMs(50);
    const started = Date.now();
    await adapter.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    const deadline = Date.now() + 2000;
    while (sockets() > before && Date.now() < deadline) await sleepMs(20);
    expect(sockets()).toBeLessThanOrEqual(before);
  });
});
