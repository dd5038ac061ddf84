import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  CronManager,
  CronScheduler,
  createGateway,
  type GatewayRuntime,
  nextRunAfter,
  openSessionStore,
  parseDeliveryTarget,
  parseSchedule,
  readJobs,
  type SessionStore,
  writeJobs,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, platform, TestAdapter, TestNetwork } from "../src/index.ts";

const T0 = Date.parse("2026-11-23T10:00:00Z");
const MIN = 60_000;

interface Env {
  home: string;
  net: TestNetwork;
  gateways: GatewayRuntime[];
  stores: SessionStore[];
  clock: { now: number };
}
const envs: Env[] = [];

function makeEnv(): Env {
  const e: Env = {
    home: mkdtempSync(join(tmpdir(), "sb-cron-")),
    net: new TestNetwork(),
    gateways: [],
    stores: [],
    clock: { now: T0 },
  };
  envs.push(e);
  return e;
}

async function gatewayOn(e: Env) {
  const config = buildConfig(
    {
      agents: { main: {}, alpha: {}, beta: { cron: { allowed_targets: ["test:allowed-chat"] } } },
      routes: [
        { match: { platform: "test", chat_id: "alpha-chat" }, agent: "alpha" },
        { match: { platform: "test", chat_id: "beta-chat" }, agent: "beta" },
      ],
      platforms: { test: { allow_all_users: true, accounts: { default: {}, second: {} } } },
      session: { debounce_s: 0 },
    },
    { file: undefined, home: e.home, env: {}, platforms: { test: platform } },
  );
  const store = openSessionStore(join(e.home, "state.db"));
  const gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    adapters: [new TestAdapter({ network: e.net }), new TestAdapter({ network: e.net, account: "second" })],
    retry: { baseDelayMs: 5 },
  });
  await gateway.start();
  const manager = new CronManager({
    config: () => gateway.config,
    router: () => gateway.router,
    now: () => e.clock.now,
  });
  const scheduler = new CronScheduler({ gateway, manager, leases: store.leases, now: () => e.clock.now });
  gateway.setCron(manager);
  e.gateways.push(gateway);
  e.stores.push(store);
  return { gateway, manager, scheduler, store };
}

afterEach(async () => {
  for (const e of envs.splice(0)) {
    for (const g of e.gateways) await g.stop({ timeoutMs: 1000 });
    for (const s of e.stores) await s.close();
    rmSync(e.home, { recursive: true, force: true });
  }
});

describe("cron schedules", () => {
  it("parses every accepted form", () => {
    expect(parseSchedule("30m")).toMatchObject({ kind: "once", delayMs: 30 * MIN });
    expect(parseSchedule("2h")).toMatchObject({ kind: "once", delayMs: 120 * MIN });
    expect(parseSchedule("1d")).toMatchObject({ kind: "once", delayMs: 1440 * MIN });
    expect(parseSchedule("every 30m")).toMatchObject({ kind: "every", intervalMs: 30 * MIN });
    expect(parseSchedule("0 9 * * 1-5", { timezone: "Europe/Berlin" })).toMatchObject({
      kind: "cron",
      timezone: "Europe/Berlin",
    });
    expect(parseSchedule("*/30 * * * * *")).toMatchObject({ kind: "cron" });
    expect(parseSchedule("2026-12-24T18:00:00+01:00")).toMatchObject({
      kind: "at",
      at: Date.parse("2026-12-24T17:00:00Z"),
    });
  });

  it("rejects invalid schedules with the accepted forms", () => {
    // "every 10s" parses: how short an interval may be is cron.min_interval_s, checked when a job is created.
    for (const bad of ["", "soon", "every banana", "61 * * * *", "2026-13-45T00:00:00Z"]) {
      expect(() => parseSchedule(bad), bad).toThrow(
        /Accepted forms:[\s\S]*every 30m[\s\S]*cron expression[\s\S]*ISO timestamp/,
      );
    }
    expect(() => parseSchedule("0 9 * * *", { timezone: "Mars/Olympus" })).toThrow(/unknown time zone/);
  });

  it("computes next runs for delays, intervals, timestamps and cron in a time zone", () => {
    expect(nextRunAfter(parseSchedule("30m"), T0, T0)).toBe(T0 + 30 * MIN);
    expect(nextRunAfter(parseSchedule("30m"), T0 + 31 * MIN, T0)).toBeUndefined();
    expect(nextRunAfter(parseSchedule("every 30m"), T0 + 45 * MIN, T0)).toBe(T0 + 60 * MIN);
    const tokyo = parseSchedule("0 9 * * *", { timezone: "Asia/Tokyo" });
    expect(new Date(nextRunAfter(tokyo, T0, T0)!).toISOString()).toBe("2026-11-24T00:00:00.000Z");
  });

  it("follows a daylight-saving change in its time zone", () => {
    const ny = parseSchedule("0 9 * * *", { timezone: "America/New_York" });
    const before = nextRunAfter(ny, Date.parse("2026-10-30T14:00:00Z"), 0)!;
    const after = nextRunAfter(ny, before, 0)!;
    const next = nextRunAfter(ny, after, 0)!;
    expect(new Date(before).toISOString()).toBe("2026-10-31T13:00:00.000Z"); // 09:00 EDT
    expect(new Date(after).toISOString()).toBe("2026-11-01T14:00:00.000Z"); // 09:00 EST, 25 h later
    expect(new Date(next).toISOString()).toBe("2026-11-02T14:00:00.000Z");
    const berlin = parseSchedule("30 2 * * *", { timezone: "Europe/Berlin" });
    // 02:30 does not exist on 2026-03-29 in Berlin: the run is not lost and not doubled.
    const spring = nextRunAfter(berlin, Date.parse("2026-03-28T02:00:00Z"), 0)!;
    const following = nextRunAfter(berlin, spring, 0)!;
    expect(following - spring).toBeGreaterThan(20 * 60 * MIN);
    expect(new Date(following).toISOString()).toBe("2026-03-30T00:30:00.000Z");
  });

  it("parses delivery targets", () => {
    expect(parseDeliveryTarget("origin")).toEqual({ kind: "origin" });
    expect(parseDeliveryTarget("local")).toEqual({ kind: "local" });
    expect(parseDeliveryTarget("telegram@support:-1001:7")).toEqual({
      kind: "chat",
      platform: "telegram",
      account: "support",
      chatId: "-1001",
      threadId: "7",
    });
    expect(parseDeliveryTarget("matrix:!room:example.org")).toEqual({
      kind: "chat",
      platform: "matrix",
      account: "default",
      chatId: "!room:example.org",
    });
    expect(() => parseDeliveryTarget("nonsense")).toThrow(/<platform>\[@account\]/);
  });
});

describe("the cron scheduler", () => {
  it("runs a due job as a turn of its agent and delivers through the origin's account and thread", async () => {
    const e = makeEnv();
    const { manager, scheduler, store } = await gatewayOn(e);
    const job = await manager.create("alpha", {
      schedule: "every 30m",
      prompt: "daily digest",
      origin: { platform: "test", account: "second", chatId: "alpha-chat", threadId: "t7" },
    });
    expect(await scheduler.nextWake()).toBe(T0 + 30 * MIN);
    expect(await scheduler.tick(T0 + 10 * MIN)).toEqual([]);
    e.clock.now = T0 + 30 * MIN;
    const [r] = await scheduler.tick();
    expect(r).toMatchObject({ agentId: "alpha", status: "ok", delivered: true });
    const sent = await e.net.waitForSent((m) => m.text.includes("daily digest"));
    expect(sent).toMatchObject({ account: "second", chatId: "alpha-chat", threadId: "t7" });
    expect(sent.text).toContain("[alpha]");
    expect(readFileSync(r!.outputFile!, "utf8")).toContain("[alpha] daily digest");
    expect(await store.findActive(`agent:alpha:cron:${job.id}`)).toBeDefined();
    const after = (await manager.get("alpha", job.id))!;
    expect(after.nextRunAt).toBe(T0 + 60 * MIN);
    expect(after.lastStatus).toBe("ok");
  });

  it("saves but does not deliver a [SILENT] reply", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    await manager.create("alpha", { schedule: "5m", prompt: "[[silent]]", deliver: "test:alpha-chat" });
    const [r] = await scheduler.tick(T0 + 5 * MIN);
    expect(r).toMatchObject({ status: "silent", delivered: false });
    expect(readFileSync(r!.outputFile!, "utf8")).toContain("[SILENT]");
    expect(e.net.sent()).toHaveLength(0);
  });

  it("always delivers a short failure notice", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    const job = await manager.create("alpha", {
      schedule: "5m",
      prompt: "[[fail]]",
      deliver: "test:alpha-chat",
    });
    const [r] = await scheduler.tick(T0 + 5 * MIN);
    expect(r).toMatchObject({ status: "error", delivered: true });
    expect((await e.net.waitForSent(() => true)).text).toMatch(/^⚠️ Cron job ".*" failed: /);
    expect((await manager.get("alpha", job.id))!.lastError).toContain("scripted");
  });

  it("refuses a target that routes to another agent, and allows routed, origin and allowed targets", async () => {
    const e = makeEnv();
    const { manager } = await gatewayOn(e);
    await expect(
      manager.create("alpha", { schedule: "1h", prompt: "x", deliver: "test:beta-chat" }),
    ).rejects.toThrow(/may not deliver to test:beta-chat: that chat does not route to "alpha"/);
    await expect(
      manager.create("alpha", { schedule: "1h", prompt: "x", deliver: "test:alpha-chat" }),
    ).resolves.toBeDefined();
    await expect(
      manager.create("beta", { schedule: "1h", prompt: "x", deliver: "test:allowed-chat" }),
    ).resolves.toBeDefined();
    await expect(
      manager.create("alpha", {
        schedule: "1h",
        prompt: "x",
        deliver: "test:beta-chat",
        origin: { platform: "test", chatId: "beta-chat" },
      }),
    ).resolves.toBeDefined();
  });

  it("keeps each agent's jobs in its own home, invisible to the others", async () => {
    const e = makeEnv();
    const { manager } = await gatewayOn(e);
    const a = await manager.create("alpha", { schedule: "1h", prompt: "alpha's job" });
    expect(existsSync(join(e.home, "agents", "alpha", "cron", "jobs.json"))).toBe(true);
    expect(await manager.list("beta")).toEqual([]);
    expect(await manager.remove("beta", a.id)).toBe(false);
    expect(await manager.list("alpha")).toHaveLength(1);
    expect(statSync(join(e.home, "agents", "alpha", "cron", "jobs.json")).mode & 0o777).toBe(0o600);
  });

  it("fast-forwards missed runs after downtime instead of replaying them", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    const job = await manager.create("alpha", {
      schedule: "every 30m",
      prompt: "tick",
      deliver: "test:alpha-chat",
    });
    const results = await scheduler.tick(T0 + 5 * 60 * MIN + 7 * MIN); // down for five hours
    expect(results.map((r) => r.status)).toEqual(["missed"]);
    expect(e.net.sent()).toHaveLength(0);
    const j = (await manager.get("alpha", job.id))!;
    expect(j.nextRunAt).toBe(T0 + 5 * 60 * MIN + 30 * MIN);
    const [r] = await scheduler.tick(j.nextRunAt!);
    expect(r!.status).toBe("ok");
    expect(e.net.sent()).toHaveLength(1);
  });

  it("runs a one-shot once within its grace window after downtime, and marks it missed beyond it", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    const soon = await manager.create("alpha", {
      schedule: "10m",
      prompt: "once please",
      deliver: "test:alpha-chat",
    });
    const [r] = await scheduler.tick(T0 + 40 * MIN);
    expect(r!.status).toBe("ok");
    expect(await scheduler.tick(T0 + 41 * MIN)).toEqual([]);
    expect((await manager.get("alpha", soon.id))!.enabled).toBe(false);
    const stale = await manager.create("alpha", {
      schedule: "10m",
      prompt: "too late",
      deliver: "test:alpha-chat",
    });
    const [m] = await scheduler.tick(T0 + 10 * 60 * MIN);
    expect(m!.status).toBe("missed");
    expect((await manager.get("alpha", stale.id))!.lastStatus).toBe("missed");
    expect(e.net.sent().filter((s) => s.text.includes("once please"))).toHaveLength(1);
  });

  it("never runs a job twice with two gateways on one home", async () => {
    const e = makeEnv();
    const one = await gatewayOn(e);
    const two = await gatewayOn(e);
    await one.manager.create("alpha", {
      schedule: "every 30m",
      prompt: "exactly once",
      deliver: "test:alpha-chat",
    });
    const [a, b] = await Promise.all([one.scheduler.tick(T0 + 30 * MIN), two.scheduler.tick(T0 + 30 * MIN)]);
    const statuses = [...a!, ...b!].map((r) => r.status).sort();
    expect(statuses).toEqual(["ok", "skipped"]);
    expect(e.net.sent().filter((s) => s.text.includes("exactly once"))).toHaveLength(1);
  });

  it("wakes at the next due time without waiting on a poll", async () => {
    const e = makeEnv();
    e.clock.now = Date.now();
    const { manager, scheduler } = await gatewayOn(e);
    const job = await manager.create("alpha", {
      schedule: "every 1m",
      prompt: "wake",
      deliver: "test:alpha-chat",
    });
    // Pretend the job is due 50 ms from now: the timer must fire then, not on a fixed poll.
    await manager.update("alpha", (jobs) => {
      jobs[0]!.nextRunAt = e.clock.now + 50;
    });
    scheduler.start();
    e.clock.now += 60;
    const sent = await e.net.waitForSent((m) => m.text.includes("wake"), 2000);
    expect(sent.chatId).toBe("alpha-chat");
    const deadline = Date.now() + 2000;
    while ((await manager.get("alpha", job.id))!.lastStatus !== "ok" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    scheduler.stop();
    expect((await manager.get("alpha", job.id))!.lastStatus).toBe("ok");
  });
});

describe("cron for an operator", () => {
  it("picks up a job another process writes into jobs.json within a second", async () => {
    const e = makeEnv();
    e.clock.now = Date.now();
    const { gateway, store } = await gatewayOn(e);
    const manager = new CronManager({ config: () => gateway.config, router: () => gateway.router });
    const scheduler = new CronScheduler({ gateway, manager, leases: store.leases });
    scheduler.start();
    try {
      // Nothing is due: the scheduler sleeps its longest. Another process (the CLI) now adds a job.
      await new Promise((r) => setTimeout(r, 100));
      const cli = new CronManager({ config: () => gateway.config, router: () => gateway.router });
      const job = await cli.create("alpha", {
        schedule: "every 1m",
        prompt: "from the cli",
        deliver: "test:alpha-chat",
      });
      await cli.update("alpha", (jobs) => {
        jobs[0]!.nextRunAt = Date.now() + 100;
      });
      const sent = await e.net.waitForSent((m) => m.text.includes("from the cli"), 1500);
      expect(sent.chatId).toBe("alpha-chat");
      expect(job.id).toMatch(/^[0-9a-f]{8}$/);
    } finally {
      scheduler.stop();
    }
  });

  it("re-authorises delivery at delivery time: a hand-written job aimed at another agent's chat is refused", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    const job = await manager.create("alpha", { schedule: "5m", prompt: "sneaky", deliver: "local" });
    await manager.update("alpha", (jobs) => {
      jobs[0]!.deliver = "test:beta-chat";
    });
    const [r] = await scheduler.tick(T0 + 5 * MIN);
    expect(r).toMatchObject({ status: "ok", delivered: false });
    expect(r!.refused).toMatch(/delivery to test:beta-chat refused: that chat now routes to "beta"/);
    expect(r!.refused).toContain("agents.alpha.cron.allowed_targets");
    expect(readFileSync(r!.outputFile!, "utf8")).toContain(
      "Not delivered: delivery to test:beta-chat refused",
    );
    expect((await manager.get("alpha", job.id))!.lastError).toContain("refused");
    expect(e.net.sent()).toHaveLength(0);
  });

  it("refuses delivery into a chat re-routed to another agent after the job was approved", async () => {
    const e = makeEnv();
    const { gateway, manager, scheduler } = await gatewayOn(e);
    await manager.create("alpha", {
      schedule: "5m",
      prompt: "approved once",
      origin: { platform: "test", chatId: "alpha-chat", chatType: "group" },
    });
    gateway.reconfigure(
      buildConfig(
        {
          agents: { main: {}, alpha: {}, beta: {} },
          routes: [{ match: { platform: "test", chat_id: "alpha-chat" }, agent: "beta" }],
          platforms: { test: { allow_all_users: true, accounts: { default: {}, second: {} } } },
          session: { debounce_s: 0 },
        },
        { file: undefined, home: e.home, env: {}, platforms: { test: platform } },
      ),
    );
    const [r] = await scheduler.tick(T0 + 5 * MIN);
    expect(r!.delivered).toBe(false);
    expect(r!.refused).toContain('now routes to "beta"');
    expect(e.net.sent()).toHaveLength(0);
  });

  it("still delivers back to a DM whose agent was chosen by a user_id route", async () => {
    const e = makeEnv();
    const { gateway, manager, scheduler } = await gatewayOn(e);
    gateway.reconfigure(
      buildConfig(
        {
          agents: { main: {}, alpha: {}, beta: {} },
          routes: [{ match: { platform: "test", user_id: "u-alpha" }, agent: "alpha" }],
          platforms: { test: { allow_all_users: true, accounts: { default: {}, second: {} } } },
          session: { debounce_s: 0 },
        },
        { file: undefined, home: e.home, env: {}, platforms: { test: platform } },
      ),
    );
    const job = await manager.create("alpha", {
      schedule: "5m",
      prompt: "for the dm",
      origin: { platform: "test", chatId: "dm-7", chatType: "dm", userId: "u-alpha" },
    });
    expect(job.origin?.userId).toBe("u-alpha");
    const [r] = await scheduler.tick(T0 + 5 * MIN);
    expect(r).toMatchObject({ delivered: true });
    expect(r!.refused).toBeUndefined();
  });

  it("isolates an agent whose jobs.json is malformed: the others keep running, the file and error are reported", async () => {
    const e = makeEnv();
    const { manager, scheduler } = await gatewayOn(e);
    await manager.create("alpha", { schedule: "5m", prompt: "still runs", deliver: "test:alpha-chat" });
    const betaDir = join(e.home, "agents", "beta", "cron");
    await manager.create("beta", { schedule: "5m", prompt: "x", deliver: "local" });
    writeFileSync(join(betaDir, "jobs.json"), "{ not json");
    const { broken } = await manager.scan();
    expect(broken).toEqual([
      {
        agentId: "beta",
        file: join(betaDir, "jobs.json"),
        error: expect.stringContaining("is not valid JSON"),
      },
    ]);
    const results = await scheduler.tick(T0 + 5 * MIN);
    expect(results.map((r) => [r.agentId, r.status])).toEqual([["alpha", "ok"]]);
    await e.net.waitForSent((m) => m.text.includes("still runs"));
  });
});

describe("jobs.json", () => {
  it("survives a crash mid-write: old or new file, never a torn one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-jobs-"));
    const big = (n: number) =>
      Array.from({ length: 400 }, (_, i) => ({
        id: `j${i}`,
        name: `job ${n}`,
        prompt: "x".repeat(500),
        schedule: { input: "every 30m", kind: "every" as const },
        deliver: "local",
        enabled: true,
        repeat: { times: null, completed: n },
        createdAt: 0,
        anchorAt: 0,
        nextRunAt: 1,
        lastRunAt: null,
        lastStatus: null,
        lastError: null,
      }));
    writeJobs(dir, big(0));
    const core = new URL("../../core/src/cron/jobs.ts", import.meta.url).pathname;
    const script = `import { writeJobs } from ${JSON.stringify(core)};
      const big = ${big.toString()};
      for (let n = 1; ; n++) writeJobs(${JSON.stringify(dir)}, big(n));`;
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
        stdio: "ignore",
      });
      await new Promise((r) => setTimeout(r, 150 + round * 40));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      const jobs = readJobs(dir);
      expect(jobs).toHaveLength(400);
      expect(new Set(jobs.map((j) => j.repeat.completed)).size).toBe(1);
    }
    // A torn temp file left by the crash is ignored.
    writeFileSync(join(dir, "jobs.json.999.tmp"), '{"version":1,"jobs":[{"id":');
    expect(readJobs(dir)).toHaveLength(400);
    expect(readdirSync(dir).filter((f) => f === "jobs.json")).toHaveLength(1);
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);
});
