// The cost of operating features on the hot paths: API latency (agent on the stub LLM) and dispatch
// throughput (test platform → echo agent → reply, the cheapest turn there is, so the worst case; and the
// same through an agent on the stub LLM, as a chat on a real provider runs) with metrics + usage
// accounting + budget checks on, against the same gateway shape with them off, alternating rounds in one run.
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import { createApiServer, createGatewayMetrics, type GatewayMetrics } from "@switchboard/api-server";
import { buildConfig, createGateway, Operations, openSessionStore, silentLogger } from "@switchboard/core";
import { platform, startStubLlm, TestAdapter, TestNetwork } from "@switchboard/testing";
import { postJson } from "./lib/post.ts";
import { gc, median } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";

/** API series per side, alternating with the other side, and requests per series. */
const ROUNDS = 36;
const LATENCY_PER_ROUND = 50;
/** Dispatch batches per side, alternating with the other side, and messages per batch. */
const DISPATCH_PAIRS = 60;
const MESSAGES_PER_PAIR = 400;
const CHATS = 200;
/**
 * The same through the agent on the stub LLM: its chats (routed to it; one message each per batch, so none
 * joins a turn still running), batches per side, messages per batch.
 */
const LLM_CHATS = Array.from({ length: 200 }, (_, i) => `llm${i}`);
const LLM_PAIRS = 30;
const MESSAGES_PER_LLM_PAIR = 200;
const KEY = "sk-bench-operate-0001";

const stub = await startStubLlm();
const BIG = 1_000_000_000_000;

async function world(on: boolean) {
  const home = mkdtempSync(join(tmpdir(), `sb-bench-operate-${on ? "on" : "off"}-`));
  const budget = { daily: BIG, monthly: "$1000000" };
  const config = buildConfig(
    {
      providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
      agents: {
        main: on ? { budget } : {},
        llm: { model: { provider: "stub", name: "stub-model" }, ...(on ? { budget } : {}) },
      },
      platforms: { test: { allow_all_users: true } },
      routes: [{ match: { platform: "test", chat_id: LLM_CHATS }, agent: "llm" }],
      session: { debounce_s: 0 },
      api_server: { keys: [{ key: KEY, ...(on ? { budget } : {}) }] },
      ...(on ? { budgets: { per_user: budget } } : {}),
      metrics: { enabled: false },
      log_level: "silent",
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const net = new TestNetwork();
  let current = config;
  const operations = new Operations({ config: () => current, store, logger: silentLogger(), accounting: on });
  const gateway = createGateway({
    config,
    store,
    runner: createAgentRunner({ maxRetries: 0 }),
    adapters: [new TestAdapter({ network: net })],
    operations,
  });
  current = gateway.config;
  await gateway.start();
  const api = createApiServer({ gateway, metrics: false });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  return {
    on,
    gateway,
    net,
    url,
    store,
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await gateway.stop({ timeoutMs: 2000 });
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
type World = Awaited<ReturnType<typeof world>>;

async function post(clientAgent: Agent, url: string, body: string): Promise<number> {
  const r = await postJson(url, body, clientAgent, {
    authorization: `Bearer ${KEY}`,
    "x-switchboard-user-id": "bench-user",
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
  return r.ms;
}

let seq = 0;
async function latencies(w: World, n: number): Promise<{ ms: number[]; cpuUs: number }> {
  const ms: number[] = [];
  // One keep-alive connection per series, as a client library holds; a fresh one each time, so an idle
  // socket the server closed meanwhile is never reused.
  const clientAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const c0 = process.threadCpuUsage();
  for (let i = 0; i < n; i++)
    ms.push(
      await post(
        clientAgent,
        w.url,
        JSON.stringify({ model: "llm", messages: [{ role: "user", content: `hi ${seq++}` }] }),
      ),
    );
  await w.gateway.idle();
  clientAgent.destroy();
  const c = process.threadCpuUsage(c0);
  return { ms, cpuUs: (c.user + c.system) / n };
}

/** Messages per second through the test platform; `cpuUs` (this thread's CPU per message) is filled in. */
async function throughput(w: World, n: number, cpu?: number[], chats?: readonly string[]): Promise<number> {
  const before = w.net.sent().length;
  const width = chats?.length ?? CHATS;
  const c0 = process.threadCpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i += width) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + width); j++) {
      const s = seq++;
      batch.push(
        w.net.inject({
          chatType: "dm",
          chatId: chats ? chats[j % width]! : `c${j % CHATS}`,
          userId: `u${j % width}`,
          text: `m ${s}`,
          messageId: `m${s}`,
        }),
      );
    }
    await Promise.all(batch);
  }
  await w.gateway.idle();
  const dt = performance.now() - t0;
  const c = process.threadCpuUsage(c0);
  cpu?.push((c.user + c.system) / n);
  if (w.net.sent().length - before < n)
    throw new Error(`replies went missing: ${w.net.sent().length - before} of ${n}`);
  return (n / dt) * 1000;
}

const off = await world(false);
const on = await world(true);
const side = () => ({
  ms: [] as number[],
  cpu: [] as number[],
  rate: [] as number[],
  msgCpu: [] as number[],
  llmRate: [] as number[],
  llmCpu: [] as number[],
});
const results = { off: side(), on: side() };
// On / off of each round: the two measurements of a round are next to each other in time, so the other
// helpers' load (which swings the absolute figures by 2x here) mostly cancels within the pair.
const paired = {
  rate: [] as number[],
  msgCpu: [] as number[],
  ms: [] as number[],
  llmRate: [] as number[],
  llmCpu: [] as number[],
};
// Warm both paths before measuring.
await latencies(off, 200);
await latencies(on, 200);
await throughput(off, 1000);
await throughput(on, 1000);
await throughput(off, 200, undefined, LLM_CHATS);
await throughput(on, 200, undefined, LLM_CHATS);

let metrics: GatewayMetrics | undefined;
/** Run `fn` on `w` with the gateway metrics subscribed while the "on" gateway runs, as in a process that has them. */
async function measured<T>(w: World, fn: () => Promise<T>): Promise<T> {
  metrics = w.on ? createGatewayMetrics(w.gateway) : undefined;
  try {
    return await fn();
  } finally {
    metrics?.close();
  }
}
const last = (xs: number[]) => xs[xs.length - 1]!;
for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order so drift (JIT, GC, the other helpers' load) lands on both.
  const order = r % 2 === 0 ? [off, on] : [on, off];
  for (const w of order) {
    gc();
    const l = await measured(w, () => latencies(w, LATENCY_PER_ROUND));
    const k = w.on ? "on" : "off";
    results[k].ms.push(...l.ms);
    results[k].cpu.push(l.cpuUs);
  }
  paired.ms.push(
    median(results.on.ms.slice(-LATENCY_PER_ROUND)) / median(results.off.ms.slice(-LATENCY_PER_ROUND)),
  );
}
// Both in many short pairs: a pair's two halves run back to back, so the machine's swings (2x here within
// minutes) land on both, and a major GC that falls into one half moves one pair, not the median. (Not
// request by request: the metrics subscribe to the process's facts, so they are on for one side at a time.)
for (let r = 0; r < DISPATCH_PAIRS; r++) {
  const order = r % 2 === 0 ? [off, on] : [on, off];
  for (const w of order) {
    const k = w.on ? "on" : "off";
    results[k].rate.push(await measured(w, () => throughput(w, MESSAGES_PER_PAIR, results[k].msgCpu)));
  }
  paired.rate.push(last(results.on.rate) / last(results.off.rate));
  paired.msgCpu.push(last(results.on.msgCpu) / last(results.off.msgCpu));
}
for (let r = 0; r < LLM_PAIRS; r++) {
  const order = r % 2 === 0 ? [off, on] : [on, off];
  for (const w of order) {
    const k = w.on ? "on" : "off";
    results[k].llmRate.push(
      await measured(w, () => throughput(w, MESSAGES_PER_LLM_PAIR, results[k].llmCpu, LLM_CHATS)),
    );
  }
  paired.llmRate.push(last(results.on.llmRate) / last(results.off.llmRate));
  paired.llmCpu.push(last(results.on.llmCpu) / last(results.off.llmCpu));
}
if ((await on.store.usage.summary({ groupBy: [] }))[0]?.calls === undefined)
  throw new Error("the 'on' gateway recorded no usage");
if ((await off.store.usage.summary({ groupBy: [] })).length !== 0)
  throw new Error("the 'off' gateway recorded usage");

await off.close();
await on.close();
await stub.close();

const latOff = median(results.off.ms);
const latOn = median(results.on.ms);
const cpuOff = median(results.off.cpu);
const cpuOn = median(results.on.cpu);
const rateOff = median(results.off.rate);
const rateOn = median(results.on.rate);
const rows: Row[] = [
  {
    metric: "API latency, operations off",
    value: latOff,
    unit: "ms",
    note: `median of ${results.off.ms.length}, stub LLM`,
  },
  {
    metric: "API latency, operations on",
    value: latOn,
    unit: "ms",
    note: "metrics + usage + budgets (agent, user, key)",
  },
  {
    metric: "API latency on / off",
    value: median(paired.ms),
    unit: "ratio",
    target: { op: "<=", value: 1.05 },
    note: `median of ${ROUNDS} paired series of ${LATENCY_PER_ROUND}; ratio of the medians ${(latOn / latOff).toFixed(3)}`,
  },
  {
    metric: "API CPU per request on / off",
    value: cpuOn / cpuOff,
    unit: "ratio",
    note: `${cpuOff.toFixed(0)} → ${cpuOn.toFixed(0)} µs (client, server and stub share the thread)`,
  },
  {
    metric: "dispatch throughput, operations off",
    value: rateOff,
    unit: "msg/s",
    note: `median of ${DISPATCH_PAIRS} batches of ${MESSAGES_PER_PAIR}`,
  },
  { metric: "dispatch throughput, operations on", value: rateOn, unit: "msg/s" },
  {
    metric: "dispatch throughput on / off",
    value: median(paired.rate),
    unit: "ratio",
    target: { op: ">=", value: 0.95 },
    note: `median of ${DISPATCH_PAIRS} paired batches; ratio of the medians ${(rateOn / rateOff).toFixed(3)}`,
  },
  {
    metric: "dispatch CPU per message on / off",
    value: median(paired.msgCpu),
    unit: "ratio",
    note: `${median(results.off.msgCpu).toFixed(0)} → ${median(results.on.msgCpu).toFixed(0)} µs (this thread; the load-independent view)`,
  },
  {
    metric: "dispatch on / off, agent on the stub LLM",
    value: median(paired.llmRate),
    unit: "ratio",
    note: `median of ${LLM_PAIRS} paired batches of ${MESSAGES_PER_LLM_PAIR}: ${median(results.off.llmRate).toFixed(0)} → ${median(results.on.llmRate).toFixed(0)} msg/s`,
  },
  {
    metric: "its CPU per message on / off",
    value: median(paired.llmCpu),
    unit: "ratio",
    note: `${median(results.off.llmCpu).toFixed(0)} → ${median(results.on.llmCpu).toFixed(0)} µs (this thread, the stub's share included)`,
  },
];
const ok = printTable("Operations overhead (metrics, usage accounting, budget checks)", rows);
process.exit(ok ? 0 : 1);
