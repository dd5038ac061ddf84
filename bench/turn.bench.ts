import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { postJson } from "./lib/post.ts";
import { gc, loadPerCore, median } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";
import { runLoad } from "./lib/turn-load.ts";

/**
 * The cost of an API turn through an `openai-compatible` provider, against a bare `node:http` server
 * answering a fixed OpenAI JSON and the stub model called directly, all in the same run:
 * server CPU per turn and req/s under 50 concurrent keep-alive clients, added latency of sequential calls,
 * resident memory of 1,000 provider agents that each served one turn, memory growth over a long steady run,
 * and start-up with a 10,000-route config. Loads repeat `RUNS` times and report medians. The stub runs in
 * its own process and the load generator in a worker thread, so this thread's CPU time is the server's alone.
 *
 * `BENCH_STEADY_TURNS` sizes the steady run: 25,000 by default (about a minute here, 100,000 would take four);
 * `BENCH_STEADY_TURNS=100000` gives the full figure, CI-sized runs set it lower.
 */
const RUNS = Number(process.env.BENCH_TURN_RUNS ?? 3);
const CONCURRENCY = 50;
const WARMUP_MS = 1000;
const LOAD_MS = 4000;
const LATENCY_SAMPLES = 1000;
const STEADY_TURNS = Number(process.env.BENCH_STEADY_TURNS ?? 25_000);
const MEM_AGENTS = 1000;
const KEY = "sk-bench-0123456789";
const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), "..");
const FIXED_ANSWER = JSON.stringify({
  id: "chatcmpl-0",
  object: "chat.completion",
  created: 0,
  model: "stub-model",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "stub: hello" },
      finish_reason: "stop",
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});

const mode = process.argv[2];
const listening = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
const rssMb = () => process.memoryUsage().rss / 1024 / 1024;
/**
 * RSS once the process has gone idle: V8's memory reducer, some 10-30 s after the allocation rate drops,
 * runs memory-reducing collections that shrink the young generation back and return pooled heap pages to the
 * OS. This runs that collection at once (the `last-resort` flavour of `--expose-gc`'s `gc`). Right after a
 * burst the young generation still holds its high-water mark (up to 2 x 64 MB here), whatever the agents keep.
 */
async function settledRssMb(): Promise<number> {
  const g = (globalThis as { gc?: (o?: object) => void }).gc;
  // Twice, with a pause: the heap pages go back to the OS from a background task after each collection.
  for (let i = 0; i < 2; i++) {
    g?.({ type: "major", execution: "sync", flavor: "last-resort" });
    await new Promise((r) => setTimeout(r, 200));
  }
  return rssMb();
}
const settle = async () => {
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
};

/** Switchboard in this process: gateway, API server, `n` agents on the stub provider (`llm` is the first). */
async function startSwitchboard(stubUrl: string, n: number, transport?: "undici" | "node-http") {
  const { createAgentRunner, createHttpFetch, createUndiciFetch } = await import("@switchboard/agent");
  const { createApiServer } = await import("@switchboard/api-server");
  const { buildConfig, createGateway, openSessionStore } = await import("@switchboard/core");
  const { serve } = await import("@hono/node-server");
  const home = mkdtempSync(join(tmpdir(), "sb-bench-turn-"));
  const agents: Record<string, unknown> = { main: {} };
  for (let i = 0; i < n; i++)
    agents[i === 0 ? "llm" : `llm${i}`] = { model: { provider: "stub", name: "stub-model" } };
  const config = buildConfig(
    {
      providers: { stub: { kind: "openai-compatible", base_url: stubUrl } },
      agents,
      api_server: { keys: [{ key: KEY, agents: "*" }] },
      log_level: "silent",
    },
    { file: undefined, home, env: {}, platforms: {} },
  );
  const store = openSessionStore(join(home, "state.db"));
  const runner = createAgentRunner({
    maxRetries: 0,
    ...(transport ? { transport: transport === "undici" ? createUndiciFetch : createHttpFetch } : {}),
  });
  const gateway = createGateway({ config, store, runner });
  const api = createApiServer({ gateway });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  return {
    server,
    url: `${listening(server)}/v1/chat/completions`,
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await gateway.stop({ timeoutMs: 2000 });
      await runner.close();
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

// --- child processes -------------------------------------------------------------------------------

if (mode === "stub") {
  const { startStubLlm } = await import("@switchboard/testing");
  const stub = await startStubLlm();
  process.on("message", (m: string) => {
    if (m === "cpu") {
      const c = process.cpuUsage();
      // Drop the recorded bodies: a long run would otherwise bill the stub's own memory growth to nobody.
      stub.requests.length = 0;
      stub.requestHeaders.length = 0;
      process.send!({ cpu: c.user + c.system, served: stub.requests.length });
    } else if (m === "exit") process.exit(0);
  });
  process.send!({ url: stub.url });
} else if (mode === "mem") {
  // 1,000 provider agents, each served one turn through the API; RSS after GC.
  const [stubUrl, n] = [process.argv[3]!, Number(process.argv[4])];
  const sb = await startSwitchboard(stubUrl, n);
  await settle();
  const idle = rssMb();
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const ids = Array.from({ length: n }, (_, i) => (i === 0 ? "llm" : `llm${i}`));
  for (let i = 0; i < ids.length; i += 8)
    await Promise.all(ids.slice(i, i + 8).map((id) => post(sb.url, id, `hi ${id}`, agent, true)));
  agent.destroy();
  await settle();
  await new Promise((r) => setTimeout(r, 200));
  await settle();
  const rss = rssMb();
  const heap = process.memoryUsage().heapUsed / 1024 / 1024;
  const settled = await settledRssMb();
  await sb.close();
  process.stdout.write(`${JSON.stringify({ idle, rss, heap, settled })}\n`);
  process.exit(0);
} else if (mode === "steady") {
  const [stubUrl, turns] = [process.argv[3]!, Number(process.argv[4])];
  const sb = await startSwitchboard(stubUrl, 1);
  let first = 0;
  let firstHeap = 0;
  await runLoad({
    url: sb.url,
    concurrency: 16,
    warmupMs: 0,
    durationMs: 0,
    count: turns,
    model: "llm",
    key: KEY,
    expectPrefix: "stub: ",
    onProgress: (done) => {
      if (done === 1000) {
        first = rssMb();
        firstHeap = process.memoryUsage().heapUsed / 1024 / 1024;
      }
    },
  });
  await new Promise((r) => setTimeout(r, 200));
  const last = rssMb();
  const lastHeap = process.memoryUsage().heapUsed / 1024 / 1024;
  await sb.close();
  process.stdout.write(`${JSON.stringify({ first, last, firstHeap, lastHeap })}\n`);
  process.exit(0);
} else if (mode === "startup") {
  // Time and RSS from process start to a started gateway with the API server listening.
  const [file, home] = [process.argv[3]!, process.argv[4]!];
  const { createAgentRunner } = await import("@switchboard/agent");
  const { createApiServer } = await import("@switchboard/api-server");
  const { createGateway, loadConfig, openSessionStore } = await import("@switchboard/core");
  const { serve } = await import("@hono/node-server");
  const t0 = performance.now();
  const c0 = process.threadCpuUsage();
  const config = await loadConfig({ path: file, home, env: {} });
  const store = openSessionStore(join(home, "state.db"));
  const runner = createAgentRunner();
  const gateway = createGateway({ config, store, runner });
  await gateway.start();
  const api = createApiServer({ gateway });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  const ms = performance.now() - t0;
  const c1 = process.threadCpuUsage(c0);
  const cpuMs = (c1.user + c1.system) / 1000;
  const total = performance.now();
  const rss = rssMb();
  api.close();
  server.close();
  await gateway.stop({ timeoutMs: 1000 });
  await store.close();
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, total, rss })}\n`);
  process.exit(0);
}

// The stub serves until the parent says exit; the other children have exited above.
if (mode === "stub") await new Promise<never>(() => {});
else if (mode !== undefined) throw new Error(`unknown mode ${mode}`);

// --- helpers for the parent -------------------------------------------------------------------------

async function post(url: string, model: string, text: string, agent: Agent, auth: boolean): Promise<number> {
  const body = JSON.stringify({ model, messages: [{ role: "user", content: text }] });
  const r = await postJson(url, body, agent, auth ? { authorization: `Bearer ${KEY}` } : {});
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
  if (!r.text.includes(text)) throw new Error(`${url}: the answer does not quote "${text}"`);
  return r.ms;
}

const CHILD_FLAGS = ["--expose-gc"];
/** Built packages for the memory and start-up children, as they run in production (no type stripper). */
function build(): void {
  for (const p of ["packages/core", "packages/agent", "packages/api-server"]) {
    const b = spawnSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      { cwd: join(root, p), encoding: "utf8" },
    );
    if (b.status !== 0) throw new Error(`build of ${p} failed: ${b.stdout}${b.stderr}`);
  }
}

function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...CHILD_FLAGS, self, ...args], { cwd: root });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("exit", (code) => {
      if (code !== 0) reject(new Error(`${args[0]} child failed: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").pop()!) as T);
    });
  });
}

interface Stub {
  url: string;
  proc: ChildProcess;
  cpu(): Promise<number>;
}
function startStubProcess(): Promise<Stub> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--conditions=@switchboard/source", self, "stub"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let waiting: ((n: number) => void) | undefined;
    proc.on("message", (m: { url?: string; cpu?: number }) => {
      if (m.url)
        resolve({
          url: m.url,
          proc,
          cpu: () =>
            new Promise<number>((r) => {
              waiting = r;
              proc.send("cpu");
            }),
        });
      else if (m.cpu !== undefined) waiting?.(m.cpu);
    });
  });
}

const threadCpu = () => {
  const c = process.threadCpuUsage();
  return c.user + c.system;
};

interface LoadFigures {
  rps: number;
  /** This thread's CPU per request, µs. */
  cpuUs: number;
  /** The stub process's CPU per request, µs (direct and via runs). */
  stubUs: number;
}

/** One timed load against `url`, with CPU of this thread and of the stub over the measured window. */
async function measureLoad(url: string, model: string, stub: Stub, auth: boolean): Promise<LoadFigures> {
  let cpu0 = 0;
  let stub0 = Promise.resolve(0);
  let served0 = 0;
  const r = await runLoad({
    url,
    concurrency: CONCURRENCY,
    warmupMs: WARMUP_MS,
    durationMs: LOAD_MS,
    model,
    ...(auth ? { key: KEY } : {}),
    onMeasuring: () => {
      cpu0 = threadCpu();
      stub0 = stub.cpu();
      served0 = served;
    },
  });
  const cpu = threadCpu() - cpu0;
  const stubCpu = (await stub.cpu()) - (await stub0);
  const n = served - served0;
  served = 0;
  return { rps: r.ok / r.seconds, cpuUs: n > 0 ? cpu / n : Number.NaN, stubUs: stubCpu / r.ok };
}
/** Requests answered by this process's HTTP servers (bare and Switchboard), for CPU per request. */
let served = 0;
const counted = (s: Server) => s.on("request", () => served++);

// --- the parent -------------------------------------------------------------------------------------

build();
const stub = await startStubProcess();
const stubUrl = `${stub.url}/chat/completions`;

const bare = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(FIXED_ANSWER),
    });
    res.end(FIXED_ANSWER);
  });
});
await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
counted(bare);
const bareUrl = `${listening(bare)}/v1/chat/completions`;

// The floor of a provider turn's HTTP: node:http forwarding each request to the stub through the fetch the
// model SDKs get (the same keep-alive client), answering with what the stub said. No SDK, no gateway.
const { createHttpFetch } = await import("@switchboard/agent");
const hop = createHttpFetch();
const proxy = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    hop(stubUrl, { method: "POST", headers: { "content-type": "application/json" }, body })
      .then((r) => r.text())
      .then((text) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
counted(proxy);
const proxyUrl = `${listening(proxy)}/v1/chat/completions`;

const transports = ["undici", "node-http"] as const;
const hosts = Object.fromEntries(
  await Promise.all(transports.map(async (t) => [t, await startSwitchboard(stub.url, 10, t)] as const)),
) as Record<(typeof transports)[number], Awaited<ReturnType<typeof startSwitchboard>>>;
const defaultHost = await startSwitchboard(stub.url, 10);
// Count requests on the Switchboard servers too: hono's server is a node:http server under the hood.
for (const h of [...Object.values(hosts), defaultHost]) counted(h.server);

type Target = "bare" | "proxy" | "stub" | "echo" | (typeof transports)[number];
const runs: Record<Target, LoadFigures[]> = {
  bare: [],
  proxy: [],
  stub: [],
  echo: [],
  undici: [],
  "node-http": [],
};
const latency: number[] = [];

for (let run = 0; run < RUNS; run++) {
  runs.bare.push(await measureLoad(bareUrl, "stub-model", stub, false));
  runs.proxy.push(await measureLoad(proxyUrl, "stub-model", stub, false));
  runs.stub.push(await measureLoad(stubUrl, "stub-model", stub, false));
  // The two fetches take turns going first, so neither always runs right after the idle direct-stub load.
  for (const t of run % 2 === 0 ? transports : [...transports].reverse())
    runs[t].push(await measureLoad(hosts[t].url, "llm", stub, true));
  runs.echo.push(await measureLoad(defaultHost.url, "main", stub, true));

  // Sequential: one keep-alive client, direct and via interleaved so drift lands on both. Each run's words
  // are its own: a repeated first message would continue the session an earlier run stored.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const d: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < 200; i++) {
    await post(stubUrl, "stub-model", `w${run}.${i}`, agent, false);
    await post(defaultHost.url, "llm", `w${run}.${i}`, agent, true);
  }
  gc();
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    if (i % 2 === 0) {
      d.push(await post(stubUrl, "stub-model", `d${run}.${i}`, agent, false));
      v.push(await post(defaultHost.url, "llm", `v${run}.${i}`, agent, true));
    } else {
      v.push(await post(defaultHost.url, "llm", `v${run}.${i}`, agent, true));
      d.push(await post(stubUrl, "stub-model", `d${run}.${i}`, agent, false));
    }
  }
  agent.destroy();
  latency.push(median(v) - median(d));
}
for (const h of [...Object.values(hosts), defaultHost]) await h.close();
bare.closeAllConnections();
bare.close();
proxy.closeAllConnections();
proxy.close();

// Memory and start-up, each in a fresh process.
const mem = await child<{ idle: number; rss: number; heap: number; settled: number }>([
  "mem",
  stub.url,
  String(MEM_AGENTS),
]);
const steady = await child<{ first: number; last: number; firstHeap: number; lastHeap: number }>([
  "steady",
  stub.url,
  String(STEADY_TURNS),
]);
stub.proc.send("exit");

const startupHome = mkdtempSync(join(tmpdir(), "sb-bench-startup-"));
const { randomRoutes } = await import("../packages/core/test/helpers/random-routes.ts");
const { stringify } = await import("yaml");
function startupConfig(routes: number): string {
  const agents: Record<string, unknown> = { main: {} };
  for (let i = 1; i < 100; i++) agents[`a${i}`] = {};
  const r = randomRoutes(routes, 3).map((x, i) => ({ ...x, agent: i % 100 === 0 ? "main" : `a${i % 100}` }));
  const file = join(startupHome, `config-${routes}.yaml`);
  writeFileSync(
    file,
    // Block-style YAML, as people write it.
    stringify({
      agents,
      routes: r,
      platforms: { telegram: { allow_all_users: true }, discord: { allow_all_users: true } },
      api_server: { keys: [{ key: KEY, agents: "*" }] },
      log_level: "silent",
    }),
  );
  return file;
}
const small = startupConfig(10);
const large = startupConfig(10_000);
type Startup = { ms: number; cpuMs: number; rss: number };
const startups: Array<{ small: Startup; large: Startup }> = [];
for (let i = 0; i < RUNS; i++) {
  startups.push({
    small: await child(["startup", small, startupHome]),
    large: await child(["startup", large, startupHome]),
  });
}
rmSync(startupHome, { recursive: true, force: true });

const med = (t: Target, k: keyof LoadFigures) => median(runs[t].map((r) => r[k]));
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
/** The transport the runner uses by default: the headline rows measure what a deployment runs. */
const DEFAULT_TRANSPORT = "node-http";
const viaUs = med(DEFAULT_TRANSPORT, "cpuUs");
const floorUs = med("echo", "cpuUs") + med("proxy", "cpuUs") - med("bare", "cpuUs");
const rows: Row[] = [
  {
    metric: "bare node:http, fixed OpenAI JSON",
    value: med("bare", "rps"),
    unit: "req/s",
    note: `baseline; server CPU ${fmt(med("bare", "cpuUs"))} us/request`,
  },
  {
    metric: "bare node:http forwarding to the stub",
    value: med("proxy", "rps"),
    unit: "req/s",
    note: `baseline; server CPU ${fmt(med("proxy", "cpuUs"))} us/request: one hop through the fetch the SDKs get`,
  },
  {
    metric: "stub model, called directly",
    value: med("stub", "rps"),
    unit: "req/s",
    note: `baseline; stub CPU ${fmt(med("stub", "stubUs"))} us/request`,
  },
  {
    metric: "Switchboard, echo agent",
    value: med("echo", "rps"),
    unit: "req/s",
    note: `server CPU ${fmt(med("echo", "cpuUs"))} us/turn`,
  },
  {
    metric: "Switchboard → openai-compatible stub",
    value: med(DEFAULT_TRANSPORT, "rps"),
    unit: "req/s",
    target: { op: ">=", value: 2500 },
    note: `${CONCURRENCY} keep-alive clients; ${fmt((med(DEFAULT_TRANSPORT, "rps") / med("stub", "rps")) * 100)}% of the stub alone`,
  },
  {
    metric: "server CPU per API turn, openai-compatible",
    value: viaUs,
    unit: "us",
    target: { op: "<=", value: 400 },
    note: `${fmt(viaUs / med("bare", "cpuUs"))}x bare node, ${fmt(viaUs / med("echo", "cpuUs"))}x echo; stub's own CPU excluded`,
  },
  {
    metric: "floor of that turn without a model SDK",
    value: floorUs,
    unit: "us",
    note: `echo turn + one forwarded hop (${fmt(med("proxy", "cpuUs") - med("bare", "cpuUs"))} us); the SDK's provider, generateText and the turn's model plumbing add ${fmt(viaUs - floorUs)} us`,
  },
  {
    metric: "added latency, sequential, median",
    value: median(latency),
    unit: "ms",
    target: { op: "<=", value: 1 },
    note: `via Switchboard minus direct to the stub, ${LATENCY_SAMPLES} interleaved samples per run`,
  },
  {
    metric: `${MEM_AGENTS.toLocaleString("en-US")} provider agents, one turn each`,
    value: mem.rss,
    unit: "MB",
    target: { op: "<=", value: 150 },
    note: `RSS right after the turns (the issue's measure; young generation at its high-water mark); ${fmt(mem.idle)} MB before them, heap ${fmt(mem.heap)} MB`,
  },
  {
    metric: `${MEM_AGENTS.toLocaleString("en-US")} provider agents, then idle`,
    value: mem.settled,
    unit: "MB",
    note: "RSS once idle (after V8's memory-reducing GC, which an idle process runs on its own within ~30 s)",
  },
  {
    metric: `RSS after ${STEADY_TURNS.toLocaleString("en-US")} turns / after 1,000`,
    value: steady.last / steady.first,
    unit: "x",
    target: { op: "<=", value: 1.5 },
    note: `${fmt(steady.first)} → ${fmt(steady.last)} MB (heap ${fmt(steady.firstHeap)} → ${fmt(steady.lastHeap)} MB), 16 clients, one agent`,
  },
  {
    metric: "start-up, 10,000 routes minus 10",
    value: (median(startups.map((s) => s.large.ms)) - median(startups.map((s) => s.small.ms))) / 1000,
    unit: "s",
    target: { op: "<=", value: 0.3 },
    note: `${fmt(median(startups.map((s) => s.small.ms)))} → ${fmt(median(startups.map((s) => s.large.ms)))} ms config to listening; main-thread CPU ${fmt(median(startups.map((s) => s.small.cpuMs)))} → ${fmt(median(startups.map((s) => s.large.cpuMs)))} ms`,
  },
  {
    metric: "start-up RSS, 10,000 routes minus 10",
    value: median(startups.map((s) => s.large.rss)) - median(startups.map((s) => s.small.rss)),
    unit: "MB",
    target: { op: "<=", value: 30 },
    note: `${fmt(median(startups.map((s) => s.small.rss)))} → ${fmt(median(startups.map((s) => s.large.rss)))} MB`,
  },
];
const ok = printTable(
  `The cost of a turn (medians of ${RUNS} runs, ${LOAD_MS / 1000} s loads; load per core ${loadPerCore()})`,
  rows,
);
const ok2 = printTable(
  "The fetch under the model SDKs (same run, same 10-agent gateway)",
  transports.map((t) => ({
    metric: t === "undici" ? "undici Agent/Pool request()" : "hand-written node:http fetch",
    value: med(t, "cpuUs"),
    unit: "us",
    note: `server CPU per turn; ${fmt(med(t, "rps"))} req/s`,
  })),
);
process.exitCode = ok && ok2 ? 0 : 1;
