// TEMPORARY profiling harness (api-server engineer); deleted before hand-off.
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import { createApiServer } from "@switchboard/api-server";
import { type AgentRunner, buildConfig, createGateway, type Gateway, openSessionStore } from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { Hono } from "hono";

const mode = process.argv[2] ?? "agent";
const KEY = "sk-bench-0123456789";
const home = mkdtempSync(join(tmpdir(), "sb-prof-"));
const agents = Array.from({ length: 10 }, (_, i) => `echo-${i}`);
const config = buildConfig(
  { agents: { main: {}, ...Object.fromEntries(agents.map((a) => [a, {}])) }, api_server: { keys: [{ key: KEY, agents: "*" }] } },
  { file: undefined, home, env: {}, platforms: {} },
);
let fetcher: (r: Request) => Promise<Response> | Response;
if (mode === "hono") {
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const b = (await c.req.json()) as { model: string; messages: Array<{ content: string }> };
    return c.json({ choices: [{ message: { content: `[${b.model}] ${b.messages[0]!.content}` } }] });
  });
  fetcher = app.fetch;
} else {
  const store = openSessionStore(join(home, "state.db"));
  let runner: AgentRunner = mode === "testing-echo" ? createEchoRunner() : createAgentRunner();
  let gateway: Gateway = createGateway({ config, store, runner });
  if (mode === "fake") {
    const real = gateway;
    gateway = Object.create(real, {
      turn: {
        value: async (req: any) => ({
          agentId: req.agentId, sessionId: req.sessionId, sessionKey: req.sessionKey, abort() {},
          events: (async function* () {
            const text = `[${req.agentId}] ${req.input[0].content}`;
            yield { type: "text-delta", text };
            yield { type: "finish", text, usage: { inputTokens: 1, outputTokens: 1 } };
          })(),
        }),
      },
    });
  }
  void runner;
  fetcher = createApiServer({ gateway }).fetch;
}
const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
  const s = serve({ fetch: fetcher as any, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
});
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
const code = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const { url, key, agents } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const u = new URL(url);
function post(body) { return new Promise((resolve) => { const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: "Bearer " + key } }, (res) => { let t = ""; res.setEncoding("utf8"); res.on("data", (d) => (t += d)); res.on("end", () => resolve(res.statusCode)); }); req.on("error", () => resolve(0)); req.end(body); }); }
(async () => { let ok = 0; let measuring = false; setTimeout(() => (measuring = true), 1000); const end = Date.now() + 5000; let t0 = 0;
  await Promise.all(Array.from({ length: 64 }, async (_, w) => { for (let i = 0; Date.now() < end; i++) { const a = agents[(w + i) % agents.length]; const s = performance.now(); const st = await post(JSON.stringify({ model: a, messages: [{ role: "user", content: "w" + w + "i" + i }] })); if (measuring) { if (!t0) t0 = s; if (st === 200) ok++; } } }));
  parentPort.postMessage(ok / ((performance.now() - t0) / 1000)); })();`;
let cpu0 = process.threadCpuUsage();
let n0 = 0;
let count = 0;
server.on("request", () => count++);
setTimeout(() => { cpu0 = process.threadCpuUsage(); n0 = count; }, 1000);
const rate = await new Promise((resolve) => {
  const w = new Worker(code, { eval: true, workerData: { url, key: KEY, agents } });
  w.once("message", (m) => { void w.terminate(); resolve(m); });
});
const cpu = process.threadCpuUsage(cpu0);
const n = count - n0;
console.log(mode, Math.round(rate as number), "req/s;", ((cpu.user + cpu.system) / n).toFixed(0), "us server-thread CPU/request;", n, "requests");
server.closeAllConnections();
server.close();
process.exit(0);
