// A gateway in a process of its own, driven over IPC by `host-client.ts`: config from the parent's platform
// sections, the echo agent, a SQLite store in a temp dir, and one HTTP listener for webhook platforms.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import {
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type PlatformAdapter,
  type PlatformDefinition,
  type SessionStore,
} from "@switchboard/core";
import { startHttpBridge, testNetwork, platform as testPlatform } from "@switchboard/testing";
import type { HostHello, HostReply, HostRequest, Lingering, Memory } from "./host-client.ts";
import { injectAndAwait, loadMessages } from "./load.ts";
import { gc } from "./stats.ts";

/** Handle types that keep a process alive; the IPC channel and stdio pipes are the host's own. */
const HANDLE_TYPES = new Set([
  "TCPSocketWrap",
  "TCPServerWrap",
  "Timeout",
  "TLSWrap",
  "Immediate",
  "UDPWrap",
]);

const home = mkdtempSync(join(tmpdir(), "sb-bench-host-"));
let gateway: GatewayRuntime | undefined;
let store: SessionStore | undefined;
const bridge = await startHttpBridge((req) => gateway?.http.fetch(req));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loadDefinition(name: string): Promise<PlatformDefinition> {
  if (name === "test") return testPlatform as unknown as PlatformDefinition;
  const mod = (await import(`@switchboard/adapter-${name}`)) as { platform: PlatformDefinition };
  return mod.platform;
}

async function start(sections: Record<string, Record<string, unknown>>): Promise<number> {
  const definitions: Record<string, PlatformDefinition> = {};
  const platforms: Record<string, Record<string, unknown>> = {};
  for (const [name, section] of Object.entries(sections)) {
    definitions[name] = await loadDefinition(name);
    platforms[name] = { ...section, allow_all_users: true, require_mention: false };
  }
  const config = buildConfig(
    // No debounce: the benchmarks time turns, not a wait for more messages.
    { agents: { main: {} }, platforms, api_server: { enabled: false }, session: { debounce_s: 0 } },
    { file: undefined, home, env: {}, platforms: definitions },
  );
  const adapters: PlatformAdapter[] = [];
  for (const name of Object.keys(sections)) {
    for (const [account, cfg] of config.platformAccounts.get(name) ?? []) {
      adapters.push(definitions[name]!.create(cfg, { account }));
    }
  }
  const stateDir = join(home, "state");
  mkdirSync(stateDir, { recursive: true });
  store = openSessionStore(join(home, "state.db"));
  gateway = createGateway({ config, store, runner: createAgentRunner(), adapters, stateDir });
  await gateway.start();
  return adapters.length;
}

function running(): GatewayRuntime {
  if (!gateway) throw new Error("the gateway is not started");
  return gateway;
}

async function oneTurn(): Promise<void> {
  const handle = await running().turn({
    agentId: "main",
    source: { platform: "api", chatType: "dm", chatId: "bench" },
    input: [{ role: "user", content: "hello" }],
  });
  for await (const ev of handle.events) if (ev.type === "error") throw new Error(ev.message);
}

async function stop(): Promise<Lingering> {
  await gateway?.stop({ timeoutMs: 2000 });
  store?.close();
  await bridge.close();
  rmSync(home, { recursive: true, force: true });
  // Sockets closed a moment ago are released on the next turns of the loop.
  await sleep(200);
  const lingering: Lingering = {};
  for (const t of process.getActiveResourcesInfo())
    if (HANDLE_TYPES.has(t)) lingering[t] = (lingering[t] ?? 0) + 1;
  return lingering;
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.op) {
    case "start":
      return start(req.platforms);
    case "idle":
      return running().idle();
    case "gc":
      gc();
      return undefined;
    case "cpu": {
      const u = process.cpuUsage();
      return u.user + u.system;
    }
    case "rss": {
      gc();
      await sleep(100);
      gc();
      const mem = process.memoryUsage();
      return { rss: mem.rss / 1024 / 1024, heap: mem.heapUsed / 1024 / 1024 } satisfies Memory;
    }
    case "turn":
      return oneTurn();
    case "local-run": {
      running();
      const messages = loadMessages(req.run, req.n, req.chats, (k) => ({ chatId: `c${k}`, userId: `u${k}` }));
      return injectAndAwait(testNetwork(), messages, req.run, req);
    }
    case "stop":
      return stop();
  }
}

let stopped = false;
// An orphaned host (the parent died) must not linger.
process.on("disconnect", () => {
  if (!stopped) process.exit(1);
});

process.on("message", (msg: HostRequest & { id: number }) => {
  void handle(msg).then(
    (value) => reply({ id: msg.id, ok: true, value }, msg.op === "stop"),
    (err: unknown) =>
      reply(
        { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) },
        false,
      ),
  );
});

function reply(r: HostReply, last: boolean): void {
  process.send?.(r, undefined, {}, () => {
    if (!last) return;
    stopped = true;
    process.disconnect?.();
    // A handle of a kind not counted above would keep the process alive: give it a moment, then go anyway.
    setTimeout(() => process.exit(0), 1000).unref();
    // Whatever an adapter left open (reported above) must not keep the benchmark waiting.
    const lingering = r.ok && Object.keys(r.value as Lingering).length > 0;
    if (lingering) process.exit(0);
  });
}

const hello: HostHello = { op: "listening", url: bridge.url };
process.send?.(hello);
