// TEMPORARY profiling harness (api-server engineer); deleted before hand-off.
import { mkdtempSync } from "node:fs";
import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import { createApiServer } from "@switchboard/api-server";
import { buildConfig, createGateway, openSessionStore } from "@switchboard/core";
import { startStubLlm } from "@switchboard/testing";

const stream = process.argv[2] === "stream";
const stub = await startStubLlm();
const home = mkdtempSync(join(tmpdir(), "sb-prof-"));
const toolsets = process.argv[3] === "notools" ? { toolsets: [] } : {};
const config = buildConfig(
  { providers: { stub: { kind: "openai-compatible", base_url: stub.url } }, agents: { main: {}, llm: { model: { provider: "stub", name: "stub-model" }, ...toolsets } }, api_server: { keys: [{ key: "sk-bench-0123456789", agents: "*" }] } },
  { file: undefined, home, env: {}, platforms: {} },
);
const store = openSessionStore(join(home, "state.db"));
const gateway = createGateway({ config, store, runner: createAgentRunner({ maxRetries: 0 }) });
const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
  const s = serve({ fetch: createApiServer({ gateway }).fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
});
const sb = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
const direct = `${stub.url}/chat/completions`;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume(); res.on("end", () => resolve());
    });
    req.on("error", reject);
    req.end(body);
  });
}
async function measure(url: string, model: string, headers: Record<string, string>, n: number) {
  for (let i = 0; i < 200; i++) await post(url, JSON.stringify({ model, stream, messages: [{ role: "user", content: `w ${i}` }] }), headers);
  const c0 = process.threadCpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await post(url, JSON.stringify({ model, stream, messages: [{ role: "user", content: `hello ${i}` }] }), headers);
  const c = process.threadCpuUsage(c0);
  return { cpu: (c.user + c.system) / n, wall: ((performance.now() - t0) * 1000) / n };
}
const d = await measure(direct, "stub-model", {}, 1000);
const v = await measure(sb, "llm", { authorization: "Bearer sk-bench-0123456789" }, 1000);
console.log(`stream=${stream} direct cpu ${d.cpu.toFixed(0)}us wall ${d.wall.toFixed(0)}us | via cpu ${v.cpu.toFixed(0)}us wall ${v.wall.toFixed(0)}us | added cpu ${(v.cpu - d.cpu).toFixed(0)}us`);
agent.destroy();
server.closeAllConnections();
server.close();
await stub.close();
process.exit(0);
