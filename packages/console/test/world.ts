import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createApiServer } from "@switchboard/api-server";
import {
  buildConfig,
  CronManager,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { createEchoRunner, TestAdapter, TestNetwork } from "@switchboard/testing";
import { createConsole } from "../src/index.ts";

export const ADMIN_KEY = "sk-console-admin-0123456789";
export const USER_KEY = "sk-console-user-0123456789";

/** A test config: three agents, routes (one shadowed), an admin key and a plain key. */
export function testConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    agents: {
      main: {},
      support: { budget: { daily: { tokens: 5000 } } },
      ops: { toolsets: ["memory", "cron"], mcp: { files: { command: "node", args: ["files-server.js"] } } },
    },
    routes: [
      { match: { platform: "test", chat_id: "help" }, agent: "support" },
      { match: { platform: "test", chat_id: "help", user_id: "7" }, agent: "ops" },
      { match: { platform: "api_server", chat_id: "ops-console" }, agent: "ops" },
    ],
    api_server: {
      keys: [
        { key: ADMIN_KEY, name: "operator", agents: "*", admin: true },
        { key: USER_KEY, name: "webui", agents: ["main"] },
      ],
    },
    ...extra,
  };
}

export interface World {
  url: string;
  home: string;
  gateway: GatewayRuntime;
  store: SessionStore;
  adapter: TestAdapter;
  close(): Promise<void>;
}

/** A real gateway (SQLite in a temp home, the echo runner, a test platform account) with the API and console on 127.0.0.1:0. */
export async function startWorld(raw: Record<string, unknown> = testConfig()): Promise<World> {
  const home = mkdtempSync(join(tmpdir(), "sb-console-"));
  // Files the agent view shows.
  const ops = join(home, "agents", "ops");
  mkdirSync(join(ops, "memories"), { recursive: true });
  mkdirSync(join(ops, "skills", "deploy"), { recursive: true });
  writeFileSync(join(ops, "SOUL.md"), "You are Ops, the on-call agent. <b>not bold</b>\n");
  writeFileSync(join(ops, "memories", "MEMORY.md"), "The staging cluster is eu-west.\n");
  writeFileSync(
    join(ops, "skills", "deploy", "SKILL.md"),
    "---\nname: deploy\ndescription: Ship a release\n---\nRun the pipeline.\n",
  );
  const config = buildConfig(raw, { file: undefined, home, env: {}, platforms: {} });
  const store = openSessionStore(join(home, "state.db"));
  const adapter = new TestAdapter({ platform: "test", account: "default", network: new TestNetwork() });
  const gateway = createGateway({ config, store, runner: createEchoRunner(), adapters: [adapter] });
  const cron = new CronManager({ config: () => gateway.config, router: () => gateway.router });
  gateway.setCron(cron);
  const job = (await cron.create("ops", {
    schedule: "every 1h",
    prompt: "check the disks",
    name: "disk check",
    deliver: "local",
  })) as { id: string };
  // What the scheduler writes after a run.
  mkdirSync(join(ops, "cron", "output", job.id), { recursive: true });
  writeFileSync(join(ops, "cron", "output", job.id, "20261201T090000Z.md"), "All disks below 70%.\n");
  const api = createApiServer({ gateway, console: async (host) => createConsole(host) });
  await gateway.start();
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    home,
    gateway,
    store,
    adapter,
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop({ timeoutMs: 2000 });
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Log in over HTTP as a browser would (same-origin form POST); returns the session cookie. */
export async function login(world: World, key = ADMIN_KEY): Promise<Response> {
  return fetch(`${world.url}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: world.url, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ key }),
  });
}

export function cookieOf(res: Response): string {
  const set = res.headers.get("set-cookie") ?? "";
  const m = /sb_console=([^;]*)/.exec(set);
  if (!m?.[1]) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return `sb_console=${m[1]}`;
}

/** The CSRF token of a console page. */
export async function csrfOf(world: World, cookie: string): Promise<string> {
  const html = await (await fetch(`${world.url}/console/agents`, { headers: { cookie } })).text();
  const m = /name="csrf-token" content="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error("no csrf token in the page");
  return m[1];
}
