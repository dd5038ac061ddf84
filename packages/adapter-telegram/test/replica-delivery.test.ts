import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  CronManager,
  CronScheduler,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  Replica,
  type SessionStore,
  silentLogger,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { platform, type TelegramAdapterConfig } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const MIN = 60_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Two replicas (two gateways, each with its own connection and leases on one SQLite file) with one long-polling
 * Telegram account: A starts first and receives it, B stands by (never starts the adapter) — and each runs the
 * cron scheduler, whose slot lease picks one of them per run.
 */
async function twoReplicas() {
  const fake = await FakeTelegram.start([DEFAULT_BOT]);
  const home = mkdtempSync(join(tmpdir(), "sb-tg-replicas-"));
  cleanups.push(async () => {
    await fake.close();
    rmSync(home, { recursive: true, force: true });
  });
  let now = T0;
  const clock = () => now;
  const replica = async (id: string) => {
    const config = buildConfig(
      {
        agents: { main: {} },
        platforms: {
          telegram: { allow_all_users: true, api_url: fake.url, poll_timeout_s: 1, token: DEFAULT_BOT.token },
        },
        api_server: { enabled: false },
        session: { debounce_s: 0 },
      },
      { file: undefined, home, env: {}, platforms: { telegram: platform } },
    );
    const store: SessionStore = openSessionStore(join(home, "state.db"));
    const adapters = [...(config.platformAccounts.get("telegram") ?? [])].map(([account, cfg]) =>
      platform.create(cfg as TelegramAdapterConfig, { account }),
    );
    const gateway: GatewayRuntime = createGateway({
      config,
      store,
      runner: createEchoRunner(),
      adapters,
      replica: new Replica({ id, leases: store.leases, leaseMs: 5000, logger: silentLogger() }),
    });
    const manager = new CronManager({
      config: () => gateway.config,
      router: () => gateway.router,
      now: clock,
    });
    const scheduler = new CronScheduler({ gateway, manager, leases: store.leases, now: clock });
    gateway.setCron(manager);
    await gateway.start();
    cleanups.push(async () => {
      await gateway.stop({ timeoutMs: 2000 });
      await store.close();
    });
    return { gateway, manager, scheduler };
  };
  const a = await replica("a");
  const b = await replica("b");
  return { fake, a, b, advance: (ms: number) => (now += ms) };
}

const state = (gw: GatewayRuntime) =>
  gw.ops.adapters().find((h) => h.platform === "telegram" && h.account === "default")?.state;

describe("Telegram sends from a standby replica", () => {
  it("a cron slot won by the replica that stands by for the account is delivered once, through the Bot API", async () => {
    const { fake, a, b, advance } = await twoReplicas();
    expect(state(a.gateway)).toBe("connected");
    expect(state(b.gateway)).toBe("standby");
    await b.manager.create("main", {
      schedule: "every 30m",
      prompt: "morning report",
      deliver: "telegram:42",
    });
    advance(30 * MIN);
    // B takes the slot; A's tick of the same slot finds it taken.
    const [run] = await b.scheduler.tick();
    expect(run).toMatchObject({ status: "ok", delivered: true });
    expect(await a.scheduler.tick()).toEqual([]);
    const sends = fake.calls.filter((c) => c.method === "sendMessage");
    expect(sends).toHaveLength(1);
    expect(sends[0]!.body).toMatchObject({ chat_id: 42 });
    expect(String(sends[0]!.body.text)).toContain("morning report");
    // B is still a standby: it sent without taking the account's long polling over.
    expect(state(b.gateway)).toBe("standby");
  });

  it("an outbound delivery made on the standby (the gateway's deliver) reaches the chat once", async () => {
    const { fake, b } = await twoReplicas();
    await b.gateway.deliver(
      { platform: "telegram", account: "default", chatId: "42", chatType: "dm" },
      "hello from b",
      { agentId: "main" },
    );
    const sends = fake.calls.filter((c) => c.method === "sendMessage");
    expect(sends.map((c) => c.body.text)).toEqual(["hello from b"]);
  });
});
