// MCP per agent: the latency a tool call through the gateway adds over calling the same server
// directly with the official SDK client (stdio and Streamable HTTP, same run, same server), and the
// memory an idle agent costs with MCP configured but not started, against agents without MCP.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { printTable } from "./lib/table.ts";

const SERVER = fileURLToPath(
  new URL("../packages/agent/test/fixtures/mcp-stdio-server.mjs", import.meta.url),
);
const SAMPLES = 300;
const WARMUP = 50;
const IDLE_AGENTS = 1000;

const child = process.argv[2];
if (child === "idle") {
  // One process per variant: N idle agents (none has had a turn), with or without an MCP definition.
  const withMcp = process.argv[3] === "mcp";
  const { createAgentRunner } = await import("@switchboard/agent");
  const { buildConfig, createGateway, openSessionStore } = await import("@switchboard/core");
  const home = mkdtempSync(join(tmpdir(), "sb-bench-mcp-idle-"));
  // `${secret:…}` is Switchboard's config syntax, kept literal.
  const mcp = {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
    files: { command: "node", args: [SERVER], env: { TOKEN: "${secret:TOKEN}" }, tools: ["read_file"] },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
    search: { url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer ${secret:KEY}" } },
  };
  const agents = Object.fromEntries(
    Array.from({ length: IDLE_AGENTS }, (_, i) => [
      i === 0 ? "main" : `agent${i}`,
      i > 0 && withMcp ? { mcp } : {},
    ]),
  );
  const config = buildConfig({ agents }, { file: undefined, home, env: {}, platforms: {} });
  const store = openSessionStore(join(home, "state.db"));
  const runner = createAgentRunner();
  const gateway = createGateway({ config, store, runner });
  // Warm the runtime with one turn of main (no MCP), so both variants load the same code.
  const h = await gateway.turn({
    agentId: "main",
    source: { platform: "bench", chatType: "dm", chatId: "c" },
    input: [{ role: "user", content: "hi" }],
  });
  for await (const _ of h.events) {
    // drain
  }
  await gateway.idle();
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  await new Promise((r) => setTimeout(r, 100));
  g?.();
  const m = process.memoryUsage();
  const out = { rss: m.rss, heap: m.heapUsed, running: runner.mcp.running() };
  await gateway.stop({ timeoutMs: 1000 });
  await runner.close();
  await store.close();
  rmSync(home, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { startHttpMcp } = await import("../packages/agent/test/mcp-http-server.ts");
const { createAgentRunner } = await import("@switchboard/agent");
const { buildConfig, createGateway, openSessionStore } = await import("@switchboard/core");
const { median, percentile, gc } = await import("./lib/stats.ts");

const http = await startHttpMcp();

/** Direct: the official client against the server, `tools/call search` timed end to end. */
async function direct(kind: "stdio" | "http"): Promise<number[]> {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(
    kind === "stdio"
      ? new StdioClientTransport({ command: process.execPath, args: [SERVER] })
      : new StreamableHTTPClientTransport(new URL(http.url)),
  );
  const out: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t0 = performance.now();
    await client.callTool({ name: "search", arguments: { q: `q${i}` } });
    if (i >= WARMUP) out.push(performance.now() - t0);
  }
  await client.close();
  return out;
}

/**
 * Through the gateway: `gateway.turn()` of an agent whose echo model calls the MCP tool; the span from
 * the turn's `tool-call` event to its `tool-result` event, as the gateway's caller sees them (runTool's
 * input check, hooks, approval gate and scope, the agent's connection, the SDK client, the server).
 */
async function viaGateway(kind: "stdio" | "http"): Promise<number[]> {
  const home = mkdtempSync(join(tmpdir(), "sb-bench-mcp-"));
  const server =
    kind === "stdio" ? { command: process.execPath, args: [SERVER], tools: ["search"] } : { url: http.url };
  const config = buildConfig(
    { agents: { main: {}, ops: { mcp: { tools: server } } } },
    { file: undefined, home, env: {}, platforms: {} },
  );
  const store = openSessionStore(join(home, "state.db"));
  const runner = createAgentRunner();
  const gateway = createGateway({ config, store, runner });
  const out: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const handle = await gateway.turn({
      agentId: "ops",
      source: { platform: "bench", chatType: "dm", chatId: "c" },
      input: [{ role: "user", content: `[[tool:search {"q":"q${i}"}]]` }],
      persist: false,
    });
    let t0 = 0;
    let span = Number.NaN;
    for await (const ev of handle.events) {
      if (ev.type === "tool-call") t0 = performance.now();
      else if (ev.type === "tool-result") {
        span = performance.now() - t0;
        if (ev.isError) throw new Error(`the MCP call failed: ${String(ev.output)}`);
      }
    }
    if (i >= WARMUP) out.push(span);
  }
  await gateway.stop({ timeoutMs: 1000 });
  await runner.close();
  await store.close();
  rmSync(home, { recursive: true, force: true });
  return out;
}

const rows = [];
for (const kind of ["stdio", "http"] as const) {
  gc();
  const d = await direct(kind);
  gc();
  const g = await viaGateway(kind);
  const added = median(g) - median(d);
  rows.push(
    {
      metric: `${kind}: direct SDK client, median`,
      value: median(d),
      unit: "ms",
      note: `p99 ${percentile(d, 99).toFixed(2)} ms (baseline)`,
    },
    {
      metric: `${kind}: through the gateway, median`,
      value: median(g),
      unit: "ms",
      note: `p99 ${percentile(g, 99).toFixed(2)} ms`,
    },
    {
      metric: `${kind}: added by the gateway`,
      value: added,
      unit: "ms",
      target: { op: "<=" as const, value: 1 },
      note: `${(median(g) / median(d)).toFixed(2)}× the direct call`,
    },
  );
}
await http.close();

const self = fileURLToPath(import.meta.url);
const idle = (variant: "plain" | "mcp") => {
  const r = spawnSync(
    process.execPath,
    ["--conditions=@switchboard/source", "--expose-gc", self, "idle", variant],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { rss: number; heap: number; running: number };
};
const plain = idle("plain");
const withMcp = idle("mcp");
if (withMcp.running !== 0) throw new Error("an idle agent started an MCP server");
const perAgent = (a: number, b: number) => (b - a) / (IDLE_AGENTS - 1) / 1024;
rows.push(
  {
    metric: `${IDLE_AGENTS} idle agents, no MCP: heap`,
    value: plain.heap / 1048576,
    unit: "MB",
    note: `RSS ${(plain.rss / 1048576).toFixed(1)} MB (baseline)`,
  },
  {
    metric: `${IDLE_AGENTS} idle agents, 2 MCP servers each: heap`,
    value: withMcp.heap / 1048576,
    unit: "MB",
    note: `RSS ${(withMcp.rss / 1048576).toFixed(1)} MB; 0 servers running`,
  },
  {
    metric: "heap per idle agent with MCP configured",
    value: perAgent(plain.heap, withMcp.heap),
    unit: "KB",
    target: { op: "<=" as const, value: 4 },
    note: `RSS ${perAgent(plain.rss, withMcp.rss).toFixed(2)} KB per agent; the parsed definitions only`,
  },
);
const ok = printTable("MCP tool calls and idle agents", rows);
process.exit(ok ? 0 : 1);
