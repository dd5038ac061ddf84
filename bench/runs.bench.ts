import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createApiServer } from "@switchboard/api-server";
import { buildConfig, createGateway, openSessionStore } from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { runsClient } from "./lib/runs-client.ts";
import { gc, loadPerCore, median } from "./lib/stats.ts";
import { printTable } from "./lib/table.ts";

/**
 * The cost of keeping runs in the store (readable from every replica) on the single-process path: a run
 * (`POST /v1/runs`, then its `/events` to the end, echo agent, about 60 words) on an API server that writes
 * runs to the SQLite store, against one that keeps them in memory only (today's baseline), on the same
 * gateway, alternated, in one run. Then the delay a second process on the same file adds when it follows
 * the run (polling every `run_poll_ms`, 250 ms by default).
 */
const SAMPLES = 400;
const WARMUP = 60;
const FOLLOW_SAMPLES = 30;
const KEY = "sk-bench-runs-0123456789";
const INPUT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");

const home = mkdtempSync(join(tmpdir(), "sb-bench-runs-"));
const raw = {
  agents: { main: {} },
  api_server: { keys: [{ key: KEY, agents: "*" }] },
  log_level: "silent",
};
const config = buildConfig(raw, { file: undefined, home, env: {}, platforms: {} });
const storeA = openSessionStore(join(home, "state.db"));
const storeB = openSessionStore(join(home, "state.db"));
const gatewayA = createGateway({ config, store: storeA, runner: createEchoRunner() });
const gatewayB = createGateway({ config, store: storeB, runner: createEchoRunner() });

async function listen(fetch: (r: Request) => Promise<Response>): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server };
}

const stored = createApiServer({ gateway: gatewayA });
const memory = createApiServer({ gateway: gatewayA, runs: { store: undefined } });
const follower = createApiServer({ gateway: gatewayB });
const servers = await Promise.all([listen(stored.fetch), listen(memory.fetch), listen(follower.fetch)]);
const [storedUrl, memoryUrl, followerUrl] = servers.map((s) => s.url) as [string, string, string];

const { startRun, readEvents, followerDelays } = runsClient(KEY, INPUT);

const cpuUs = () => {
  const c = process.threadCpuUsage();
  return c.user + c.system;
};

/** One run on `base`, start to final event: wall ms and this thread's CPU µs (client and server share it). */
async function oneRun(base: string): Promise<{ ms: number; cpu: number }> {
  const c0 = cpuUs();
  const t0 = performance.now();
  await readEvents(base, await startRun(base));
  return { ms: performance.now() - t0, cpu: cpuUs() - c0 };
}

for (let i = 0; i < WARMUP; i++) {
  await oneRun(memoryUrl);
  await oneRun(storedUrl);
}
gc();
const m: Array<{ ms: number; cpu: number }> = [];
const s: Array<{ ms: number; cpu: number }> = [];
for (let i = 0; i < SAMPLES; i++) {
  // Alternate the order so drift (JIT, GC, the CPU clock) lands on both equally.
  if (i % 2 === 0) {
    m.push(await oneRun(memoryUrl));
    s.push(await oneRun(storedUrl));
  } else {
    s.push(await oneRun(storedUrl));
    m.push(await oneRun(memoryUrl));
  }
}

// Follow from the other process: how much later its stream ends than the executing process's own.
const delays = await followerDelays(storedUrl, followerUrl, FOLLOW_SAMPLES);

const cpuMem = median(m.map((x) => x.cpu));
const cpuStored = median(s.map((x) => x.cpu));
const ok = printTable(`runs in the store (SQLite), ${SAMPLES} runs each, load/core ${loadPerCore()}`, [
  {
    metric: "run, memory only (baseline)",
    value: median(m.map((x) => x.ms)),
    unit: "ms",
    note: "median wall",
  },
  { metric: "run, written to the store", value: median(s.map((x) => x.ms)), unit: "ms", note: "median wall" },
  { metric: "CPU per run, memory only", value: cpuMem, unit: "µs", note: "median, client + server thread" },
  {
    metric: "CPU per run, in the store",
    value: cpuStored,
    unit: "µs",
    note: "median, client + server thread",
  },
  { metric: "CPU ratio store / memory", value: cpuStored / cpuMem, unit: "×" },
  {
    metric: "follower on another process",
    value: median(delays),
    unit: "ms later",
    note: `median of ${FOLLOW_SAMPLES}; polling every run_poll_ms (250)`,
  },
]);

for (const api of [stored, memory, follower]) api.close();
for (const { server } of servers) {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
await gatewayA.stop({ timeoutMs: 1000 });
await gatewayB.stop({ timeoutMs: 1000 });
await storeA.close();
await storeB.close();
rmSync(home, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
