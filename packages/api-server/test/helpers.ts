import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import {
  type AgentEvent,
  type AgentRunner,
  type AgentTurn,
  buildConfig,
  type ChatMessage,
  createGateway,
  type GatewayRuntime,
  type Logger,
  openSessionStore,
  Replica,
  type SessionStore,
  silentLogger,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import OpenAI from "openai";
import { type ApiServer, createApiServer, type RouteGroup, type RunRegistryOptions } from "../src/index.ts";

export interface TestApi {
  /** `http://127.0.0.1:<port>` */
  url: string;
  gateway: GatewayRuntime;
  store: SessionStore;
  api: ApiServer;
  /** An OpenAI client for `key` (default: no key), optionally under `/agents/<agent>`. */
  client(options?: { key?: string; agent?: string; headers?: Record<string, string> }): OpenAI;
  /** `fetch` against the server with an optional bearer key. */
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** A real gateway (SQLite store in a temp dir, the echo runner unless given) behind the API on 127.0.0.1:0. */
export async function startApi(
  raw: Record<string, unknown>,
  options: {
    runner?: AgentRunner;
    logger?: Logger;
    runs?: RunRegistryOptions;
    routes?: RouteGroup[];
    /** Reuse this home (and its state.db) instead of a fresh temp dir; it is left in place on close. */
    home?: string;
    /** Run as this replica (its own leases on the store), as N gateways sharing one store do. */
    replica?: string;
  } = {},
): Promise<TestApi> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "sb-api-"));
  const config = buildConfig(raw, { file: undefined, home, env: {}, platforms: {} });
  const store = openSessionStore(join(home, "state.db"));
  const replica = options.replica
    ? new Replica({ id: options.replica, leases: store.leases, logger: silentLogger() })
    : undefined;
  const gateway = createGateway({
    config,
    store,
    runner: options.runner ?? createEchoRunner(),
    ...(replica ? { replica } : {}),
  });
  const api = createApiServer({
    gateway,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.runs ? { runs: options.runs } : {}),
    ...(options.routes ? { routes: options.routes } : {}),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    gateway,
    store,
    api,
    client: (o = {}) =>
      new OpenAI({
        apiKey: o.key ?? "unused",
        baseURL: o.agent ? `${url}/agents/${o.agent}/v1` : `${url}/v1`,
        maxRetries: 0,
        timeout: 10_000,
        ...(o.headers ? { defaultHeaders: o.headers } : {}),
      }),
    request: (path, init = {}) => {
      const { key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      return fetch(`${url}${path}`, { ...rest, headers, signal: rest.signal ?? AbortSignal.timeout(10_000) });
    },
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop({ timeoutMs: 2000 });
      store.close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** POST JSON. */
export function postJson(
  api: TestApi,
  path: string,
  body: unknown,
  init: RequestInit & { key?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  return api.request(path, { ...init, method: "POST", headers, body: JSON.stringify(body) });
}

/** Parse an SSE body into `{event, data}` frames (comments skipped). */
export async function readSse(
  res: Response,
): Promise<Array<{ event: string | undefined; id: string | undefined; data: string }>> {
  const text = await res.text();
  const frames: Array<{ event: string | undefined; id: string | undefined; data: string }> = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    let event: string | undefined;
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) frames.push({ event, id, data: data.join("\n") });
  }
  return frames;
}

export const KEYS = {
  admin: "sk-admin-0123456789",
  webui: "sk-webui-0123456789",
} as const;

/** What a recorded turn looked like to the runner. */
export interface SeenTurn {
  agentId: string;
  sessionId: string;
  sessionKey: string;
  history: ChatMessage[];
  input: ChatMessage[];
  extraSystem: string | undefined;
  signal: AbortSignal;
}

/**
 * The echo runner, recording every turn it is given. An input containing `[[fail-after-first]]` streams
 * one word and then fails, as a provider error mid-stream would.
 */
export function recordingRunner(): AgentRunner & { turns: SeenTurn[] } {
  const echo = createEchoRunner();
  const turns: SeenTurn[] = [];
  return {
    turns,
    async *run(turn: AgentTurn): AsyncIterable<AgentEvent> {
      turns.push({
        agentId: turn.agent.id,
        sessionId: turn.sessionId,
        sessionKey: turn.sessionKey,
        history: turn.history,
        input: turn.input,
        extraSystem: turn.extraSystem,
        signal: turn.signal,
      });
      const last = turn.input[turn.input.length - 1];
      if (typeof last?.content === "string" && last.content.includes("[[fail-after-first]]")) {
        yield { type: "text-delta", text: "partial " };
        yield { type: "error", message: "the model provider failed", code: "provider_error" };
        return;
      }
      yield* echo.run(turn);
    },
  };
}
