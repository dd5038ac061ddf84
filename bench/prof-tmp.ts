import { mkdtempSync } from "node:fs";
import { Agent, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import { createApiServer } from "@switchboard/api-server";
import { buildConfig, createGateway, openSessionStore } from "@switchboard/core";
import { startStubLlm } from "@switchboard/testing";
const stub = await startStubLlm();
const home = mkdtempSync(join(tmpdir(), "sb-prof-"));
const config = buildConfig({ providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
  agents: { main: {}, llm: { model: { provider: "stub", name: "stub-model" } } },
  api_server: { keys: [{ key: "sk-bench-0123456789", agents: "*" }] }, log_level: "silent" },
  { file: undefined, home, env: {}, platforms: {} });
const store = openSessionStore(join(home, "state.db")); if (process.env.CKPT) (await import("@switchboard/core")).sqliteDatabase(store)!.pragma(`wal_autocheckpoint = ${process.env.CKPT}`);
const gateway = createGateway({ config, store, runner: createAgentRunner({ maxRetries: 0 }) });
const api = createApiServer({ gateway });
const server = await new Promise<Server>((r) => { const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => r(s as Server)); });
const port = (server.address() as AddressInfo).port;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const model = process.argv[2] ?? "llm";
function post(i: number): Promise<void> {
  const body = JSON.stringify({ model, ...(process.env.STREAM ? { stream: true } : {}), messages: process.env.CONT ? [{ role: "user", content: "hello" }, { role: "assistant", content: "hi" }, { role: "user", content: `again ${i}` }] : [{ role: "user", content: `hello ${i}` }] });
  return new Promise((res, rej) => {
    const rq = request({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent,
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench-0123456789", ...(process.env.SESSION ? { "x-switchboard-session-id": process.env.SESSION } : {}), "content-length": Buffer.byteLength(body) } },
      (r) => { r.resume(); r.on("end", () => (r.statusCode === 200 ? res() : rej(new Error(String(r.statusCode))))); });
    rq.on("error", rej); rq.end(body);
  });
}
for (let i = 0; i < 300; i++) await post(i);
let commits = 0; (await import("node:diagnostics_channel")).subscribe("switchboard:store", (m: any) => { commits++; durs.push(m.durationMs); }); const durs: number[] = [];
const t = performance.now(); const c0 = process.cpuUsage();
const N = Number(process.env.N ?? 3000);
for (let i = 0; i < N; i++) await post(i);
const c = process.cpuUsage(c0);
durs.sort((a, b) => a - b); console.log("commits/req", commits / N, "commit ms median", durs[durs.length >> 1], "mean", durs.reduce((a, b) => a + b, 0) / durs.length, "p99", durs[Math.floor(durs.length * 0.99)], "max", durs.at(-1)); console.log(model, "ms/req", ((performance.now() - t) / N).toFixed(3), "cpu us/req", ((c.user + c.system) / N).toFixed(0));
server.close(); await stub.close(); process.exit(0);
