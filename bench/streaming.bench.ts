// Streamed chat replies (issue 14): how soon the first words are visible, how many edits a long answer
// costs, and what streaming costs the dispatch path (streaming off is the baseline, in the same run).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import {
  type AgentEvent,
  type AgentRunner,
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { platform, startStubLlm, TestAdapter, TestNetwork } from "@switchboard/testing";
import { median } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";

/** The default edit interval of Telegram, Discord, Slack and Feishu. */
const INTERVAL_MS = 1000;

interface World {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
}

async function world(
  raw: Record<string, unknown>,
  runner: AgentRunner,
  editIntervalMs: number | undefined,
): Promise<World> {
  const home = mkdtempSync(join(tmpdir(), "sb-bench-stream-"));
  const config = buildConfig(
    { agents: { main: {} }, session: { debounce_s: 0 }, api_server: { enabled: false }, ...raw },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const adapter = new TestAdapter({
    network: net,
    ...(editIntervalMs !== undefined ? { editIntervalMs } : {}),
  });
  const gateway = createGateway({ config, store, runner, adapters: [adapter] });
  await gateway.start();
  return { gateway, net, store, home };
}

async function close(w: World): Promise<void> {
  await w.gateway.stop({ timeoutMs: 5000 });
  await w.store.close();
  rmSync(w.home, { recursive: true, force: true });
}

// --- a model that writes at a human-visible pace: the stub LLM through the real AI SDK runner -----------

const stub = await startStubLlm();
const agentRunner = createAgentRunner();
/** When each turn's first text delta left the runner, by session id: the model's first token. */
const firstToken = new Map<string, number>();
const timedRunner: AgentRunner = {
  async *run(turn): AsyncIterable<AgentEvent> {
    for await (const ev of agentRunner.run(turn)) {
      if (ev.type === "text-delta" && !firstToken.has(turn.sessionId))
        firstToken.set(turn.sessionId, Date.now());
      yield ev;
    }
  },
};
const llm = {
  providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
  model: { provider: "stub", name: "stub-model" },
  platforms: { test: { allow_all_users: true } },
};

/** 2,000 characters of prose in words of about six characters. */
function answer(chars: number): string {
  let s = "";
  for (let i = 0; s.length < chars; i++)
    s += `${["stream", "edits", "reply", "chat", "words"][i % 5]}${i % 7 === 6 ? ".\n\n" : " "}`;
  return s.slice(0, chars).trimEnd();
}

const streamed = await world(llm, timedRunner, INTERVAL_MS);
let chat = 0;
async function streamOne(text: string, chunkDelayMs: number) {
  const chatId = `c${chat++}`;
  stub.script({ text, chunkDelayMs });
  const before = streamed.net.sent().length;
  await streamed.net.inject({ chatType: "dm", chatId, userId: chatId, text: "go", messageId: `m${chat}` });
  await streamed.gateway.idle();
  const sent = streamed.net.sent().slice(before);
  const first = sent[0]!;
  const sessionId = (await streamed.store.findActive(`agent:main:test:dm:${chatId}`))!.id;
  const ids = new Set(sent.map((m) => m.messageId));
  return {
    visibleMs: first.at! - firstToken.get(sessionId)!,
    edits: streamed.net.edits().filter((e) => ids.has(e.messageId)).length,
    messages: sent.length,
  };
}

// A model writing ~30 words a second (20 ms per word), the pace of a fast hosted model.
const firsts: number[] = [];
for (let i = 0; i < 8; i++) firsts.push((await streamOne(answer(400), 20)).visibleMs);
const long: Array<{ edits: number; messages: number }> = [];
const longStart = performance.now();
for (let i = 0; i < 3; i++) long.push(await streamOne(answer(2000), 20));
const longSeconds = (performance.now() - longStart) / 3 / 1000;
await close(streamed);
await stub.close();
await agentRunner.close();

// --- dispatch throughput: the echo agent answers at once; streaming on vs off on the same adapter ----------

const echo = createAgentRunner();
async function throughput(w: World, n: number, chats: number, burst: number, round: number): Promise<number> {
  const before = w.net.sent().length;
  const t0 = performance.now();
  for (let i = 0; i < n; i += burst) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + burst); j++) {
      const c = `c${j % chats}`;
      batch.push(
        w.net.inject({
          chatType: "dm",
          chatId: c,
          userId: c,
          text: `message ${j}`,
          messageId: `r${round}-${j}`,
        }),
      );
    }
    await Promise.all(batch);
  }
  await w.gateway.idle();
  const dt = performance.now() - t0;
  if (w.net.sent().length - before < n) throw new Error("replies went missing");
  return (n / dt) * 1000;
}
const on = await world(
  { platforms: { test: { allow_all_users: true, streaming: "edit" } } },
  echo,
  INTERVAL_MS,
);
const off = await world(
  { platforms: { test: { allow_all_users: true, streaming: "off" } } },
  echo,
  INTERVAL_MS,
);
await throughput(on, 500, 100, 50, -1);
await throughput(off, 500, 100, 50, -2);
const rates = { on: [] as number[], off: [] as number[] };
for (let round = 0; round < 5; round++) {
  // Alternate, so drift in the machine's load hits both sides alike.
  rates.off.push(await throughput(off, 2000, 200, 50, round * 2));
  rates.on.push(await throughput(on, 2000, 200, 50, round * 2 + 1));
}
await close(on);
await close(off);
await echo.close();

const editsPerReply = median(long.map((l) => l.edits));
const rows: Row[] = [
  {
    metric: "first token → first message visible",
    value: median(firsts),
    unit: "ms",
    target: { op: "<=", value: 1000 },
    note: `median of ${firsts.length}; initial delay 800 ms / 40 chars; max ${Math.round(Math.max(...firsts))} ms`,
  },
  {
    metric: "edits per 2,000-char reply",
    value: editsPerReply,
    unit: "edits",
    target: { op: "<=", value: Math.ceil((longSeconds * 1000) / INTERVAL_MS) + 1 },
    note: `interval ${INTERVAL_MS} ms; the model writes it in ${longSeconds.toFixed(1)} s; ${median(long.map((l) => l.messages))} message`,
  },
  {
    metric: "dispatch, streaming off (baseline)",
    value: median(rates.off),
    unit: "msg/s",
    note: "echo agent, 2,000 msgs over 200 chats, bursts of 50",
  },
  {
    metric: "dispatch, streaming on",
    value: median(rates.on),
    unit: "msg/s",
  },
  {
    metric: "dispatch on / off",
    value: median(rates.on) / median(rates.off),
    unit: "ratio",
    target: { op: ">=", value: 0.9 },
    note: "streaming stays within 10% of the baseline",
  },
];
const ok = printTable("Streamed chat replies", rows);
process.exit(ok ? 0 : 1);
