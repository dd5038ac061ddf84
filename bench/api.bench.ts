import { mkdtempSync, rmSync } from "node:fs";
import { Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import { createApiServer } from "@switchboard/api-server";
import { buildConfig, createGateway, openSessionStore } from "@switchboard/core";
import { startStubLlm } from "@switchboard/testing";
import { postJson } from "./lib/post.ts";
import { gc, median, percentile } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";

/**
 * The API server's cost: latency Switchboard adds over calling the stub LLM directly (the agent on an
 * openai-compatible provider pointed at the stub), measured in the same run with the same client, and
 * requests per second with the echo provider under concurrent keep-alive load from a worker thread.
 */
const LATENCY_SAMPLES = 2000;
const LATENCY_WARMUP = 300;
const LOAD_CONCURRENCY = 64;
const LOAD_WARMUP_MS = 1500;
const LOAD_MS = 5000;
const KEY = "sk-bench-0123456789";
const ECHO_AGENTS = 10;

const stub = await startStubLlm();
const home = mkdtempSync(join(tmpdir(), "sb-bench-api-"));
const config = buildConfig(
  {
    providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
    agents: {
      main: {},
      llm: { model: { provider: "stub", name: "stub-model" } },
      ...Object.fromEntries(Array.from({ length: ECHO_AGENTS }, (_, i) => [`echo-${i}`, {}])),
    },
    api_server: { keys: [{ key: KEY, agents: "*" }] },
    log_level: "silent",
  },
  { file: undefined, home, env: {}, platforms: {} },
);
const store = openSessionStore(join(home, "state.db"));
const gateway = createGateway({ config, store, runner: createAgentRunner({ maxRetries: 0 }) });
const api = createApiServer({ gateway });
const server = await new Promise<Server>((resolve) => {
  const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
});
const sbUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
const stubUrl = `${stub.url}/chat/completions`;

// One keep-alive connection per target, as a client library would hold.
const clientAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const FIRST_TOKEN = /"content":"[^"]/;

interface Timing {
  /** Time to the first content token (streaming) or to the whole body. */
  firstToken: number;
  total: number;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Timing> {
  let firstToken = Number.NaN;
  let text = "";
  const r = await postJson(url, body, clientAgent, headers, (d, ms) => {
    if (Number.isNaN(firstToken)) {
      text += d;
      if (FIRST_TOKEN.test(text)) firstToken = ms;
    }
  });
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}: ${text.slice(0, 200)}`);
  return { firstToken: Number.isNaN(firstToken) ? r.ms : firstToken, total: r.ms };
}

const auth = { authorization: `Bearer ${KEY}` };
// Every call is a new conversation: the gateway maps a repeated first message to the stored session it
// started (a regenerated answer: history read and rewind), which is not what these rows measure.
let said = 0;
const direct = (stream: boolean) =>
  post(
    stubUrl,
    JSON.stringify({ model: "stub-model", stream, messages: [{ role: "user", content: `hello ${said++}` }] }),
    {},
  );
const via = (stream: boolean) =>
  post(
    sbUrl,
    JSON.stringify({ model: "llm", stream, messages: [{ role: "user", content: `hello ${said++}` }] }),
    auth,
  );

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const c = process.threadCpuUsage(since);
  return c.user + c.system;
};

/**
 * Alternate direct and via-Switchboard calls so drift (JIT, GC, CPU clock) lands on both equally. Client,
 * stub and server share this thread, so its CPU time per call is a load-independent measure of the work
 * each path does (on a busy machine wall-clock latency also includes waiting for a core).
 */
async function compare(stream: boolean): Promise<{ direct: number[]; via: number[]; addedCpuUs: number }> {
  const pick = (t: Timing) => (stream ? t.firstToken : t.total);
  for (let i = 0; i < LATENCY_WARMUP; i++) {
    await direct(stream);
    await via(stream);
  }
  gc();
  const d: number[] = [];
  const v: number[] = [];
  let directCpu = 0;
  let viaCpu = 0;
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const isVia of order) {
      const c0 = process.threadCpuUsage();
      const t = pick(await (isVia ? via : direct)(stream));
      const c = cpuMicros(c0);
      if (isVia) {
        v.push(t);
        viaCpu += c;
      } else {
        d.push(t);
        directCpu += c;
      }
    }
  }
  return { direct: d, via: v, addedCpuUs: (viaCpu - directCpu) / LATENCY_SAMPLES };
}

const before = stub.requests.length;
const plain = await compare(false);
const streamed = await compare(true);
const viaCalls = stub.requests.length - before;
// Every via-Switchboard request must really have reached the stub through the agent.
if (viaCalls !== 4 * (LATENCY_SAMPLES + LATENCY_WARMUP))
  throw new Error(`the stub saw ${viaCalls} requests, expected ${4 * (LATENCY_SAMPLES + LATENCY_WARMUP)}`);

/** The load generator: plain JS in a worker thread, so it runs on the other core while the server keeps this one. */
const LOAD_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const { url, concurrency, warmupMs, durationMs, key, agents } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const u = new URL(url);
function post(body) {
  return new Promise((resolve) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: "Bearer " + key } },
      (res) => { let text = ""; res.setEncoding("utf8"); res.on("data", (d) => (text += d)); res.on("end", () => resolve({ status: res.statusCode, text })); });
    req.on("error", (e) => resolve({ status: 0, text: String(e) }));
    req.end(body);
  });
}
(async () => {
  let measuring = false, ok = 0, bad = 0, wrong = 0, firstError = "";
  const lat = [];
  const start = Date.now();
  const end = start + warmupMs + durationMs;
  setTimeout(() => { measuring = true; }, warmupMs);
  let t0 = 0;
  const loops = Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      const a = agents[(w + i) % agents.length];
      const word = "w" + w + "i" + i;
      const s = performance.now();
      const r = await post(JSON.stringify({ model: a, messages: [{ role: "user", content: word }] }));
      if (!measuring) continue;
      if (t0 === 0) t0 = s;
      lat.push(performance.now() - s);
      if (r.status !== 200) { bad++; if (!firstError) firstError = r.status + " " + r.text.slice(0, 200); }
      else if (!r.text.includes("[" + a + "] " + word)) wrong++;
      else ok++;
    }
  });
  await Promise.all(loops);
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  parentPort.postMessage({ ok, bad, wrong, seconds, lat, firstError });
})();
`;

interface LoadResult {
  ok: number;
  bad: number;
  wrong: number;
  seconds: number;
  lat: number[];
  firstError: string;
}
// The server's share of CPU under load: this thread's time over the measured window.
let loadCpu0 = process.threadCpuUsage();
let loadServed0 = 0;
let served = 0;
server.on("request", () => served++);
const measureStart = setTimeout(() => {
  loadCpu0 = process.threadCpuUsage();
  loadServed0 = served;
}, LOAD_WARMUP_MS);
const load = await new Promise<LoadResult>((resolve, reject) => {
  const worker = new Worker(LOAD_WORKER, {
    eval: true,
    workerData: {
      url: sbUrl,
      concurrency: LOAD_CONCURRENCY,
      warmupMs: LOAD_WARMUP_MS,
      durationMs: LOAD_MS,
      key: KEY,
      agents: Array.from({ length: ECHO_AGENTS }, (_, i) => `echo-${i}`),
    },
  });
  worker.once("message", (m: LoadResult) => {
    void worker.terminate();
    resolve(m);
  });
  worker.once("error", reject);
});
clearTimeout(measureStart);
const serverCpuPerRequest = cpuMicros(loadCpu0) / (served - loadServed0);
if (load.bad > 0) throw new Error(`${load.bad} load requests failed, first: ${load.firstError}`);
if (load.wrong > 0) throw new Error(`${load.wrong} load replies named the wrong agent or input`);

clientAgent.destroy();
api.close();
server.closeAllConnections();
await new Promise<void>((resolve) => server.close(() => resolve()));
await gateway.stop({ timeoutMs: 2000 });
await store.close();
await stub.close();
rmSync(home, { recursive: true, force: true });

const ms = (n: number) => n;
const p99 = (xs: number[]) => percentile(xs, 99);
const rows: Row[] = [
  {
    metric: "direct to stub, JSON, median",
    value: ms(median(plain.direct)),
    unit: "ms",
    note: `p99 ${p99(plain.direct).toFixed(2)} ms (baseline)`,
  },
  {
    metric: "via Switchboard, JSON, median",
    value: ms(median(plain.via)),
    unit: "ms",
    note: `p99 ${p99(plain.via).toFixed(2)} ms`,
  },
  {
    metric: "added latency, JSON, median",
    value: median(plain.via) - median(plain.direct),
    unit: "ms",
    target: { op: "<=", value: 1.5 },
  },
  { metric: "added latency, JSON, p99", value: p99(plain.via) - p99(plain.direct), unit: "ms" },
  {
    metric: "added CPU per call, JSON",
    value: plain.addedCpuUs / 1000,
    unit: "ms",
    note: "this thread's CPU, via minus direct",
  },
  {
    metric: "direct to stub, first token, median",
    value: median(streamed.direct),
    unit: "ms",
    note: `p99 ${p99(streamed.direct).toFixed(2)} ms (baseline)`,
  },
  {
    metric: "via Switchboard, first token, median",
    value: median(streamed.via),
    unit: "ms",
    note: `p99 ${p99(streamed.via).toFixed(2)} ms`,
  },
  {
    metric: "added to first token, median",
    value: median(streamed.via) - median(streamed.direct),
    unit: "ms",
    target: { op: "<=", value: 2 },
  },
  { metric: "added to first token, p99", value: p99(streamed.via) - p99(streamed.direct), unit: "ms" },
  {
    metric: "added CPU per call, streamed",
    value: streamed.addedCpuUs / 1000,
    unit: "ms",
    note: "this thread's CPU, via minus direct",
  },
  {
    metric: "throughput, echo provider",
    value: load.ok / load.seconds,
    unit: "req/s",
    target: { op: ">=", value: 3000 },
    note: `${LOAD_CONCURRENCY} keep-alive clients over ${ECHO_AGENTS} agents, ${load.ok} replies checked; p50 ${median(load.lat).toFixed(1)} ms, p99 ${p99(load.lat).toFixed(1)} ms`,
  },
  {
    metric: "server CPU per request, echo",
    value: serverCpuPerRequest,
    unit: "us",
    note: `= ${Math.round(1e6 / serverCpuPerRequest).toLocaleString("en-US")} req/s per fully used core`,
  },
];
const ok = printTable(
  `API server: added latency (${LATENCY_SAMPLES} interleaved samples each) and throughput (${LOAD_MS / 1000} s)`,
  rows,
);
process.exitCode = ok ? 0 : 1;
