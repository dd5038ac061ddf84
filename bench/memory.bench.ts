// Resident memory with 1, 100 and 1,000 agents configured, each having served one turn, once the process is idle.
// Each size runs in a fresh child process so the numbers do not contaminate each other.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { printTable } from "./lib/table.ts";

const child = process.argv[2];
if (child) {
  const n = Number(child);
  const { createAgentRunner } = await import("@switchboard/agent");
  const { buildConfig, createGateway, openSessionStore } = await import("@switchboard/core");
  const { platformCommonSchema } = await import("@switchboard/core");
  // A minimal in-memory platform (the test kit would pull vitest into the measured process).
  const sent: string[] = [];
  let deliver: ((m: import("@switchboard/core").InboundMessage) => Promise<void>) | undefined;
  const adapter: import("@switchboard/core").PlatformAdapter = {
    platform: "mem",
    account: "default",
    capabilities: { maxMessageLength: 4096, edit: false, typing: false, threads: false, format: "plain" },
    start: async (ctx) => {
      deliver = ctx.dispatch;
    },
    stop: async () => {},
    send: async (_a, m) => {
      sent.push(m.text);
      return { messageId: String(sent.length) };
    },
  };
  const platform = { name: "mem", configSchema: platformCommonSchema, create: () => adapter };
  const home = mkdtempSync(join(tmpdir(), "sb-bench-mem-"));
  const agents = Object.fromEntries(
    Array.from({ length: n }, (_, i) => [i === 0 ? "main" : `agent${i}`, {}]),
  );
  const routes = Array.from({ length: n }, (_, i) => ({
    match: { platform: "mem", chat_id: `chat${i}` },
    agent: i === 0 ? "main" : `agent${i}`,
  }));
  const config = buildConfig(
    { agents, routes, platforms: { mem: { allow_all_users: true } }, session: { debounce_s: 0 } },
    { file: undefined, home, env: {}, platforms: { mem: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const gateway = createGateway({ config, store, runner: createAgentRunner(), adapters: [adapter] });
  await gateway.start();
  for (let i = 0; i < n; i++) {
    await deliver!({
      platform: "mem",
      account: "default",
      messageId: `m${i}`,
      chat: { id: `chat${i}`, type: "group" },
      user: { id: "u" },
      text: `hello ${i}`,
    });
  }
  await gateway.idle();
  if (sent.length !== n || (!sent[n - 1]!.startsWith(`[agent${n - 1}]`) && n > 1))
    throw new Error(`expected ${n} replies from their own agents, got ${sent.length}`);
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 100));
  (globalThis as { gc?: () => void }).gc?.();
  const rss = process.memoryUsage().rss / 1024 / 1024;
  // Once idle, V8's memory reducer shrinks the young generation and returns pooled pages (10-30 s after the
  // burst); the last-resort collection does that at once, so the figure is what the agents keep.
  // Twice, with a pause: the heap pages go back to the OS from a background task after each collection.
  const g = (globalThis as { gc?: (o?: object) => void }).gc;
  for (let i = 0; i < 2; i++) {
    g?.({ type: "major", execution: "sync", flavor: "last-resort" });
    await new Promise((r) => setTimeout(r, 200));
  }
  const settled = process.memoryUsage().rss / 1024 / 1024;
  await gateway.stop({ timeoutMs: 1000 });
  await store.close();
  rmSync(home, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ rss, settled }));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
// Measure the built packages, as they run in production: build them first (tsc, seconds), and run the
// child without the TypeScript source condition so Node's type stripper is not part of the footprint.
const root = join(dirname(self), "..");
for (const p of ["packages/core", "packages/agent"]) {
  const b = spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: join(root, p), encoding: "utf8" },
  );
  if (b.status !== 0) throw new Error(`build of ${p} failed: ${b.stdout}${b.stderr}`);
}
const measure = (n: number): { rss: number; settled: number } => {
  const r = spawnSync(process.execPath, ["--expose-gc", "--experimental-strip-types", self, String(n)], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { rss: number; settled: number };
};
const sizes = [1, 100, 1000];
const figures = sizes.map(measure);
const rss = figures.map((f) => f.rss);
const right = (i: number) => `; ${figures[i]!.settled.toFixed(0)} MB once idle (memory-reducing GC)`;
const ok = printTable("Resident memory right after each agent served one turn", [
  { metric: "1 agent", value: rss[0]!, unit: "MB", note: `baseline${right(0)}` },
  {
    metric: "100 agents",
    value: rss[1]!,
    unit: "MB",
    note: `+${(rss[1]! - rss[0]!).toFixed(1)} MB over 1 agent${right(1)}`,
  },
  {
    metric: "1,000 agents",
    value: rss[2]!,
    unit: "MB",
    target: { op: "<=", value: 150 },
    note: `+${(((rss[2]! - rss[0]!) / 999) * 1024).toFixed(0)} KB per agent${right(2)}`,
  },
]);
process.exit(ok ? 0 : 1);
