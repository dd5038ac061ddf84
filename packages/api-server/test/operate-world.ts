import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createAgentRunner } from "@switchboard/agent";
import {
  buildConfig,
  createGateway,
  type GatewayRuntime,
  type Logger,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { platform, type StubLlm, startStubLlm, TestAdapter, TestNetwork } from "@switchboard/testing";
import OpenAI from "openai";
import { type ApiServer, createApiServer, type GatewayMetrics, KeyRing } from "../src/index.ts";

export const ADMIN_KEY = "sk-admin-operate-0001";
export const USER_KEY = "sk-user-operate-0002";

/** A whole gateway: the real agent runtime against the stub LLM, the test platform, the API on 127.0.0.1:0. */
export interface World {
  home: string;
  stub: StubLlm;
  net: TestNetwork;
  adapter: TestAdapter;
  gateway: GatewayRuntime;
  store: SessionStore;
  api: ApiServer;
  url: string;
  client(key?: string): OpenAI;
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  /** Inject a DM from `userId` and wait for the reply sent back (the `n`-th message sent to that chat). */
  chat(userId: string, text: string, chatId?: string): Promise<string>;
  close(): Promise<void>;
}

export interface WorldOptions {
  home?: string;
  stub?: StubLlm;
  logger?: Logger;
  metrics?: GatewayMetrics | false;
  /** Keep the home when closing (a restart test reopens it). */
  keepHome?: boolean;
}

/** The id the API gives a key (`Principal.id`): usage rows, rate limits and the audit log name keys by it. */
export function keyIdOf(w: World, key: string): string {
  return new KeyRing(w.gateway.config.api_server.keys).authenticate(`Bearer ${key}`).id;
}

/** The base config: one stub-backed agent with a price, the test platform open to all, two API keys. */
export function baseConfig(stubUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { agents, api_server, ...rest } = extra as { agents?: object; api_server?: object };
  return {
    providers: { local: { kind: "openai-compatible", base_url: stubUrl } },
    model: { provider: "local", name: "stub-model" },
    agents: { main: {}, ...agents },
    platforms: { test: { allow_all_users: true, admins: ["boss"] } },
    pricing: { "stub-model": { input: 1, output: 2 } },
    session: { debounce_s: 0 },
    api_server: {
      keys: [
        { key: ADMIN_KEY, name: "ops", admin: true },
        { key: USER_KEY, name: "webui" },
      ],
      ...api_server,
    },
    ...rest,
  };
}

export async function startWorld(
  raw: (stubUrl: string) => Record<string, unknown>,
  options: WorldOptions = {},
): Promise<World> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "sb-operate-"));
  const stub = options.stub ?? (await startStubLlm());
  const config = buildConfig(raw(stub.url), {
    file: undefined,
    home,
    env: {},
    platforms: { test: platform },
  });
  const store = openSessionStore(join(home, "state.db"));
  const net = new TestNetwork();
  const adapter = new TestAdapter({ network: net });
  const gateway = createGateway({
    config,
    store,
    runner: createAgentRunner({ maxRetries: 0 }),
    adapters: [adapter],
    retry: { attempts: 1, baseDelayMs: 1 },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await gateway.start();
  const api = createApiServer({
    gateway,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let counter = 0;
  return {
    home,
    stub,
    net,
    adapter,
    gateway,
    store,
    api,
    url,
    client: (key = USER_KEY) =>
      new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 10_000 }),
    request: (path, init = {}) => {
      const { key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      return fetch(`${url}${path}`, { ...rest, headers, signal: AbortSignal.timeout(10_000) });
    },
    async chat(userId, text, chatId = `dm-${userId}`) {
      const before = net.sent().filter((m) => m.chatId === chatId).length;
      await net.inject({ chatId, chatType: "dm", userId, text, messageId: `op-${++counter}-${Date.now()}` });
      let seen = 0;
      const reply = await net.waitForSent((m) => m.chatId === chatId && ++seen > before, 5000);
      return reply.text;
    },
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop({ timeoutMs: 2000 });
      store.close();
      if (!options.stub) await stub.close();
      if (!options.keepHome) rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Chat completions over raw HTTP, to read the status, headers and error body of a refusal. The user goes in
 * `x-switchboard-user-id` (the API source's `user_id`; the body's `user` field maps there too once it lands).
 */
export function complete(w: World, key: string, content: string, user?: string): Promise<Response> {
  return w.request("/v1/chat/completions", {
    key,
    method: "POST",
    headers: { "content-type": "application/json", ...(user ? { "x-switchboard-user-id": user } : {}) },
    body: JSON.stringify({ model: "main", messages: [{ role: "user", content }] }),
  });
}
