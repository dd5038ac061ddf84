import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, startPostgres, type TestPostgres } from "@switchboard/testing";
import { type RunningCli, startCli } from "../apps/gateway/test/cli-helpers.ts";
import { DEFAULT_BOT, FakeTelegram } from "../packages/adapter-telegram/test/fake-telegram.ts";
import { loadPerCore, median } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";

/**
 * Replicas on one PostgreSQL database (echo agent, `switchboard run` processes, a fake Telegram account
 * by long polling): API throughput with 1 and with 3 replicas (requests spread round-robin, as a load balancer
 * does) with the CPU each request costs summed over every replica; and the failover time of the long-polling
 * account after `kill -9` of the replica receiving it: until another replica holds the lease, and until a
 * message sent right after the kill is answered. Default lease (`store.lease_s: 10`).
 */
const REQUESTS = 1500;
const CONCURRENCY = 16;
const FAILOVERS = 3;
const TAKEOVER = "account:telegram/default: this replica receives it";
const CLK_TCK = 100;

const given = process.env.SWITCHBOARD_BENCH_PG_URL;
const server: TestPostgres | undefined = given ? undefined : await startPostgres({ durable: true });
const db = await createDatabase(given ?? server!.url);
const telegram = await FakeTelegram.start([DEFAULT_BOT]);
const home = mkdtempSync(join(tmpdir(), "sb-bench-replicas-"));
writeFileSync(
  join(home, "config.yaml"),
  `store: { kind: postgres, url: "${db.url}", pool: 10 }
agents:
  main: {}
api_server: { port: 0 }
log_level: info
cron: { enabled: false }
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${telegram.url}
    poll_timeout_s: 1
    allow_all_users: true
`,
);
const running: Array<{ cli: RunningCli; url: string }> = [];
const rows: Row[] = [];

async function boot(): Promise<{ cli: RunningCli; url: string }> {
  const cli = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
  const line = await cli.waitForLog((l) => typeof l.url === "string", 60_000);
  const r = { cli, url: String(line.url) };
  running.push(r);
  return r;
}

/** User + system CPU seconds a process has used (Linux `/proc`). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Words said so far: every request is a new conversation (a repeated first message continues a stored one). */
let said = 0;

async function throughput(targets: Array<{ cli: RunningCli; url: string }>) {
  let next = 0;
  const call = async (i: number) => {
    const t = targets[i % targets.length]!;
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "main", messages: [{ role: "user", content: `hello ${said++}` }] }),
    });
    if (!res.ok) throw new Error(`request ${i}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  // Warm up every replica first.
  for (let i = 0; i < 50 * targets.length; i++) await call(i);
  const cpu0 = targets.reduce((s, t) => s + cpuSeconds(t.cli.child.pid!), 0);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) await call(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = targets.reduce((s, t) => s + cpuSeconds(t.cli.child.pid!), 0) - cpu0;
  return { rps: REQUESTS / seconds, cpuMsPerRequest: (cpu * 1000) / REQUESTS };
}

function takeovers(r: { cli: RunningCli }) {
  return r.cli.lines.filter((l) => l.msg === TAKEOVER);
}

try {
  const first = await boot();
  const one = await throughput([first]);
  await boot();
  await boot();
  const three = await throughput(running);
  rows.push(
    { metric: "API requests/s, 1 replica", value: one.rps, unit: "req/s", note: `${CONCURRENCY} in flight` },
    {
      metric: "API requests/s, 3 replicas",
      value: three.rps,
      unit: "req/s",
      note: `${(three.rps / one.rps).toFixed(2)}× one replica, same machine (2 cores)`,
    },
    {
      metric: "CPU per request, 1 replica",
      value: one.cpuMsPerRequest,
      unit: "ms",
      note: "user+sys, gateway",
    },
    {
      metric: "CPU per request, 3 replicas",
      value: three.cpuMsPerRequest,
      unit: "ms",
      note: "summed over the replicas (PostgreSQL not counted)",
    },
  );

  const leaseMs: number[] = [];
  const answerMs: number[] = [];
  for (let round = 0; round < FAILOVERS; round++) {
    const live = running.filter((r) => r.cli.child.exitCode === null && r.cli.child.signalCode === null);
    // The holder is the replica that logged taking the account last.
    const holder = live
      .map((r) => ({ r, at: Number(takeovers(r).at(-1)?.time ?? -1) }))
      .sort((a, b) => b.at - a.at)[0]!.r;
    const before = new Map(live.map((r) => [r, takeovers(r).length]));
    const killedAt = Date.now();
    holder.cli.kill("SIGKILL");
    await holder.cli.exited;
    const chat = String(5000 + round);
    await telegram.inject({ chatType: "dm", chatId: chat, userId: chat, text: `after kill ${round}` });
    await telegram.waitForSent((m) => m.chatId === chat, 60_000);
    answerMs.push(Date.now() - killedAt);
    const taken = live
      .filter((r) => r !== holder)
      .flatMap((r) => takeovers(r).slice(before.get(r)))
      .map((l) => Number(l.time));
    leaseMs.push(Math.min(...taken) - killedAt);
    await boot();
  }
  rows.push(
    {
      metric: "failover after kill -9: lease taken over",
      value: median(leaseMs),
      unit: "ms",
      target: { op: "<=", value: 15_000 },
      note: `median of ${FAILOVERS}; lease 10 s, standby poll 2 s`,
    },
    {
      metric: "failover after kill -9: message answered",
      value: median(answerMs),
      unit: "ms",
      target: { op: "<=", value: 15_000 },
      note: "a message sent right after the kill, until its reply",
    },
  );
} finally {
  for (const r of running) r.cli.kill("SIGKILL");
  await Promise.all(running.map((r) => r.cli.exited));
  await telegram.close();
  await db.drop();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
}

const ok = printTable(`Replicas on one PostgreSQL database (load/core ${loadPerCore()})`, rows);
process.exitCode = ok ? 0 : 1;
