// Dispatch overhead: messages/s through test adapter → gateway → echo agent → reply, and the median
// latency one turn adds over calling the runner directly (baseline measured in the same run).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import { buildConfig, createGateway, openSessionStore, useAgent } from "@switchboard/core";
import { platform, TestAdapter, TestNetwork } from "@switchboard/testing";
import { median, percentile } from "./lib/stats.ts";
import { printTable } from "./lib/table.ts";

const home = mkdtempSync(join(tmpdir(), "sb-bench-dispatch-"));
const config = buildConfig(
  // No debounce: the benchmark times the dispatch path itself, not a wait for more messages.
  {
    agents: { main: {}, alpha: {} },
    platforms: { test: { allow_all_users: true } },
    session: { debounce_s: 0 },
  },
  { file: undefined, home, env: {}, platforms: { test: platform } },
);
const store = openSessionStore(join(home, "state.db"));
const runner = createAgentRunner();
const net = new TestNetwork();
const gateway = createGateway({ config, store, runner, adapters: [new TestAdapter({ network: net })] });
await gateway.start();

let seq = 0;
/**
 * Inject `n` messages over `chats` chats, `burst` at a time (a platform hands over a batch of updates;
 * burst 1 is one message after another), and time until every turn has replied.
 */
async function throughput(n: number, chats: number, burst: number): Promise<number> {
  const before = net.sent().length;
  const t0 = performance.now();
  for (let i = 0; i < n; i += burst) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + burst); j++) {
      const chat = `c${seq % chats}`;
      seq++;
      batch.push(
        net.inject({
          chatType: "dm",
          chatId: chat,
          userId: chat,
          text: `message ${seq}`,
          messageId: `m${seq}`,
        }),
      );
    }
    await Promise.all(batch);
  }
  await gateway.idle();
  const dt = performance.now() - t0;
  // Distinct chats per burst: every message is its own turn with its own reply.
  if (net.sent().length - before < n)
    throw new Error(`replies went missing: ${net.sent().length - before} of ${n}`);
  return (n / dt) * 1000;
}

async function viaGateway(): Promise<number> {
  const text = `latency ${seq++}`;
  const t0 = performance.now();
  await net.inject({ chatType: "dm", chatId: "lat", userId: "lat", text, messageId: `l${seq}` });
  await net.waitForSent((m) => m.text.endsWith(text), 5000);
  return performance.now() - t0;
}

async function direct(): Promise<number> {
  const profile = config.registry.main;
  const t0 = performance.now();
  await useAgent(profile, async () => {
    for await (const ev of runner.run({
      agent: profile,
      sessionId: "direct",
      sessionKey: "agent:main:test:dm:direct",
      source: { platform: "test", chatType: "dm", chatId: "direct" },
      history: [],
      input: [{ role: "user", content: `latency ${seq++}` }],
      signal: new AbortController().signal,
    })) {
      if (ev.type === "finish" || ev.type === "error") break;
    }
  });
  return performance.now() - t0;
}

await throughput(500, 500, 50); // warm-up
const rates: number[] = [];
const serial: number[] = [];
for (let r = 0; r < 3; r++) {
  rates.push(await throughput(3000, 3000, 50));
  serial.push(await throughput(1000, 1000, 1));
}
const gw: number[] = [];
const base: number[] = [];
for (let i = 0; i < 100; i++) {
  await viaGateway();
  await direct();
}
for (let i = 0; i < 600; i++) {
  gw.push(await viaGateway());
  base.push(await direct());
}
const added = median(gw) - median(base);
const ok = printTable("Dispatch overhead (test adapter → gateway → echo agent → reply)", [
  {
    metric: "throughput, batches of 50",
    value: median(rates),
    unit: "msg/s",
    target: { op: ">=", value: 2000 },
    note: `3,000 chats, one turn each; runs ${rates.map((r) => Math.round(r)).join(", ")}`,
  },
  {
    metric: "throughput, one at a time",
    value: median(serial),
    unit: "msg/s",
    note: `each dispatch awaited before the next; runs ${serial.map((r) => Math.round(r)).join(", ")}`,
  },
  {
    metric: "turn via gateway, median",
    value: median(gw),
    unit: "ms",
    note: `p99 ${percentile(gw, 99).toFixed(3)} ms`,
  },
  { metric: "runner called directly, median", value: median(base), unit: "ms", note: "baseline, same run" },
  { metric: "added by the gateway, median", value: added, unit: "ms", target: { op: "<=", value: 1 } },
]);
await gateway.stop({ timeoutMs: 1000 });
await store.close();
rmSync(home, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
