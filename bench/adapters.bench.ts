// Platform adapters: messages/s from each fake platform through adapter → gateway → echo agent → reply captured
// by the fake, with the in-memory test platform as the baseline in the same run; and the gateway's resident
// memory with 10 Telegram and 10 Discord accounts connected, against none.
//
// The fakes run in this process and every gateway in a fresh child of its own (lib/gateway-host.ts), so a
// platform and the gateway each have a core, as they would in production. The baseline's injection runs
// inside its gateway's process: the test platform is in-memory.
import type { FakePlatform } from "@switchboard/testing";
import { GatewayHost, type Lingering, type Memory } from "./lib/host-client.ts";
import { type BenchChat, injectAndAwait, type LoadResult, loadMessages } from "./lib/load.ts";
import {
  BENCH_PLATFORMS,
  type BenchPlatform,
  createFakeDiscord,
  discordBots,
  discordSection,
  FakeTelegram,
  telegramBots,
  telegramSection,
} from "./lib/platform-fakes.ts";
import { loadPerCore, median } from "./lib/stats.ts";
import { formatNumber, printTable, type Row } from "./lib/table.ts";

const MESSAGES = 2000;
const CHATS = 200;
const WARMUP_MESSAGES = 400;
const RUNS = 3;
const RUN_TIMEOUT_MS = 30_000;
const TARGET_RATE = 500;
const MEMORY_ACCOUNTS = 10;

interface Throughput {
  rates: number[];
  /** CPU time of the gateway's process per message. */
  cpuUsPerMessage: number[];
  /** CPU time of this process (the fake platform and the injection) per message. */
  fakeCpuUsPerMessage: number[];
  replies: number[];
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lingeringNotes: string[] = [];

function noteLingering(what: string, lingering: Lingering): void {
  const open = Object.entries(lingering).map(([t, n]) => `${t}×${n}`);
  if (open.length) lingeringNotes.push(`${what}: ${open.join(", ")}`);
}

/** Warm up, then `RUNS` timed runs, each with the gateway idle and collected before it. */
async function measureRuns(
  host: GatewayHost,
  run: (run: number, n: number) => Promise<LoadResult>,
): Promise<Throughput> {
  await run(0, WARMUP_MESSAGES);
  const out: Throughput = { rates: [], cpuUsPerMessage: [], fakeCpuUsPerMessage: [], replies: [] };
  for (let r = 1; r <= RUNS; r++) {
    await host.request({ op: "idle" });
    await host.request({ op: "gc" });
    const cpu0 = await host.request<number>({ op: "cpu" });
    const fake0 = cpuNow();
    const result = await run(r, MESSAGES);
    const fake1 = cpuNow();
    await host.request({ op: "idle" });
    const cpu1 = await host.request<number>({ op: "cpu" });
    out.rates.push((MESSAGES / result.ms) * 1000);
    out.cpuUsPerMessage.push((cpu1 - cpu0) / MESSAGES);
    out.fakeCpuUsPerMessage.push((fake1 - fake0) / MESSAGES);
    out.replies.push(result.replies);
  }
  return out;
}

/** Connections come up asynchronously (a socket, a first poll): probe until one message makes the round trip. */
async function ready(fake: FakePlatform, chat: BenchChat, account = "default"): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const text = `probe-${account}-${attempt}-end`;
    try {
      await fake.inject({ account, chatType: "dm", chatId: chat.chatId, userId: chat.userId, text });
      await fake.waitForSent((m) => m.text.includes(text), 3000);
      return;
    } catch (err) {
      if (attempt >= 10)
        throw new Error(`${account} not answering after ${attempt} probes: ${String(err).slice(0, 200)}`);
    }
    await sleep(200);
  }
}

async function baselineThroughput(): Promise<Throughput> {
  const host = await GatewayHost.spawn();
  try {
    await host.request({ op: "start", platforms: { test: {} } });
    return await measureRuns(host, (run, n) =>
      host.request<LoadResult>(
        { op: "local-run", run, n, chats: CHATS, timeoutMs: RUN_TIMEOUT_MS },
        RUN_TIMEOUT_MS + 5000,
      ),
    );
  } finally {
    noteLingering("test platform", await host.stop());
  }
}

async function adapterThroughput(p: BenchPlatform): Promise<Throughput> {
  const host = await GatewayHost.spawn();
  let fake: FakePlatform | undefined;
  try {
    fake = await p.start({ gatewayUrl: host.url });
    const f = fake;
    await host.request({ op: "start", platforms: { [p.platform]: p.section(f) } });
    await ready(f, p.chat(0));
    return await measureRuns(host, (run, n) =>
      injectAndAwait(f, loadMessages(run, n, CHATS, p.chat), run, { timeoutMs: RUN_TIMEOUT_MS }),
    );
  } finally {
    // The gateway goes first, so the adapters disconnect from a platform that is still there.
    noteLingering(p.label, await host.stop());
    await fake?.close();
  }
}

/** RSS of a fresh gateway with `accounts` Telegram and `accounts` Discord bots connected, each having served a DM. */
async function gatewayMemory(accounts: number): Promise<Memory> {
  const host = await GatewayHost.spawn();
  const tgBots = telegramBots(accounts);
  const dcBots = discordBots(accounts);
  const telegram = accounts ? await FakeTelegram.start(tgBots) : undefined;
  const discord = accounts ? await createFakeDiscord({ bots: dcBots }) : undefined;
  try {
    if (telegram && discord) {
      const platforms = { telegram: telegramSection(telegram, tgBots), discord: discordSection(discord) };
      const connected = await host.request<number>({ op: "start", platforms });
      if (connected !== 2 * accounts)
        throw new Error(`expected ${2 * accounts} adapters, the gateway has ${connected}`);
      await Promise.all([
        ...tgBots.map((b, i) =>
          ready(telegram, { chatId: String(100_000 + i), userId: String(100_000 + i) }, b.account),
        ),
        ...dcBots.map((b, i) =>
          ready(
            discord,
            { chatId: String(500_000_000_000_000_000n + BigInt(i)), userId: "600000000000000000" },
            b.account,
          ),
        ),
      ]);
    } else {
      // No platform: one programmatic turn, so the baseline has run the same agent and store code.
      await host.request({ op: "start", platforms: {} });
      await host.request({ op: "turn" });
    }
    await host.request({ op: "idle" });
    return await host.request<Memory>({ op: "rss" });
  } finally {
    noteLingering(`memory, ${accounts} + ${accounts} accounts`, await host.stop());
    await telegram?.close();
    await discord?.close();
  }
}

const started = performance.now();
const load = loadPerCore();

// --- throughput ----------------------------------------------------------------------------------------------
const baseline = await baselineThroughput();
const baseRate = median(baseline.rates);
const fmtRuns = (t: Throughput) => t.rates.map((r) => formatNumber(r)).join(", ");
const us = (xs: number[]) => `${Math.round(median(xs))} µs/msg`;
const detail = (t: Throughput, fake = true) =>
  `runs ${fmtRuns(t)}; CPU: gateway ${us(t.cpuUsPerMessage)}${fake ? `, fake ${us(t.fakeCpuUsPerMessage)}` : ""}; ${formatNumber(median(t.replies))} replies`;
const rows: Row[] = [
  {
    metric: "in-memory test platform (baseline)",
    value: baseRate,
    unit: "msg/s",
    note: detail(baseline, false),
  },
];
for (const p of BENCH_PLATFORMS) {
  try {
    const t = await adapterThroughput(p);
    const rate = median(t.rates);
    rows.push({
      metric: p.label,
      value: rate,
      unit: "msg/s",
      target: { op: ">=", value: TARGET_RATE },
      note: `${(baseRate / rate).toFixed(1)}× the baseline's time; ${detail(t)}`,
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    rows.push({
      metric: p.label,
      value: 0,
      unit: "msg/s",
      target: { op: ">=", value: TARGET_RATE },
      note: `failed: ${why.slice(0, 160)}`,
    });
  }
}

// --- memory --------------------------------------------------------------------------------------------------
const none = await gatewayMemory(0);
const one = await gatewayMemory(1);
const many = await gatewayMemory(MEMORY_ACCOUNTS);
// RSS barely moves per account (the heap grows into pages already resident), so the per-account figure is the heap's.
const perAccountKb = ((many.heap - one.heap) / (2 * (MEMORY_ACCOUNTS - 1))) * 1024;
const signed = (mb: number) => `${mb >= 0 ? "+" : ""}${mb.toFixed(1)} MB`;
const heap = (m: Memory) => `heap ${m.heap.toFixed(1)} MB`;

const throughputOk = printTable(
  `Adapter throughput: ${formatNumber(MESSAGES)} DMs over ${CHATS} chats, fake platform → adapter → gateway → echo agent → reply at the fake (median of ${RUNS})`,
  rows,
);
printTable("Gateway resident memory (RSS after GC, fresh process each)", [
  {
    metric: "no platform connected (baseline)",
    value: none.rss,
    unit: "MB",
    note: `gateway + store + echo agent, one API turn served; ${heap(none)}`,
  },
  {
    metric: "1 Telegram + 1 Discord account",
    value: one.rss,
    unit: "MB",
    note: `${signed(one.rss - none.rss)} over the baseline; ${heap(one)}`,
  },
  {
    metric: `${MEMORY_ACCOUNTS} Telegram + ${MEMORY_ACCOUNTS} Discord accounts`,
    value: many.rss,
    unit: "MB",
    note: `${signed(many.rss - none.rss)} over the baseline; ${heap(many)}, ~${Math.round(perAccountKb)} KB per account beyond the first pair`,
  },
]);
const seconds = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `\nInjection: ${CHATS} conversations at once, each sending its next message through FakePlatform.inject() (a webhook POST, a socket frame acked, an update queued for the poll) once the reply to its previous one arrived, so every message is a turn of its own; ${WARMUP_MESSAGES} messages warm-up. Fakes in this process, each gateway in a fresh child. Each account served one DM in the memory rows. load/core ${load}; ${seconds} s.`,
);
console.log(`Handles left open after stop: ${lingeringNotes.length ? lingeringNotes.join("; ") : "none"}`);
process.exit(throughputOk ? 0 : 1);
