import { mkdirSync } from "node:fs";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { AgentProfile, McpServerConfig } from "@switchboard/core";
import { resolveSecrets } from "./secrets.ts";
import type { ScopedStdioTransport } from "./stdio-transport.ts";

export type McpServerState = "stopped" | "starting" | "running" | "restarting" | "failed";

/** A tool as the server lists it. */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** What `agent show` and the status file report about one server. */
export interface McpServerStatus {
  state: McpServerState;
  transport: "stdio" | "http";
  /** The stdio child's pid while it runs. */
  pid?: number;
  /** The server's tools, as last listed (known after the first start, kept across idle stops). */
  tools?: string[];
  error?: string;
  restarts: number;
  startedAt?: number;
}

export interface McpConnectionOptions {
  /** Backoff before the n-th consecutive restart: `baseMs * 2^(n-1)`, at most `maxMs`. */
  backoff?: { baseMs: number; maxMs: number };
  /** Consecutive failed restarts after which the server stays `failed` until it is needed again. */
  maxRestarts?: number;
  /** Called whenever `status()` changes. */
  onChange?: () => void;
  clientInfo?: { name: string; version: string };
}

const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000 };
const DEFAULT_MAX_RESTARTS = 5;

/** A failure of one MCP server that names it (start, crash, call). */
export class McpServerError extends Error {
  override name = "McpServerError";
}

/**
 * One MCP server of one agent: started on first need, stopped after `idle_timeout_s` without a call,
 * restarted with backoff when it crashes. Never shared: every agent (even with an identical definition)
 * gets its own connection, process and secrets.
 */
export class McpConnection {
  readonly agent: AgentProfile;
  readonly name: string;
  readonly config: McpServerConfig;
  readonly #o: Required<Omit<McpConnectionOptions, "onChange">> & { onChange?: () => void };
  #state: McpServerState = "stopped";
  #client: Client | undefined;
  #transport: Transport | undefined;
  #starting: Promise<Client> | undefined;
  #tools: McpToolInfo[] | undefined;
  #error: string | undefined;
  #restarts = 0;
  #failures = 0;
  #startedAt: number | undefined;
  #inFlight = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing = false;
  #closed = false;

  constructor(
    agent: AgentProfile,
    name: string,
    config: McpServerConfig,
    options: McpConnectionOptions = {},
  ) {
    this.agent = agent;
    this.name = name;
    this.config = config;
    this.#o = {
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
      clientInfo: options.clientInfo ?? { name: "switchboard", version: "0.1.0" },
      ...(options.onChange ? { onChange: options.onChange } : {}),
    };
  }

  get label(): string {
    return `MCP server "${this.name}" of agent "${this.agent.id}"`;
  }

  get state(): McpServerState {
    return this.#state;
  }

  status(): McpServerStatus {
    const pid = this.config.command ? (this.#transport as ScopedStdioTransport | undefined)?.pid : undefined;
    return {
      state: this.#state,
      transport: this.config.command ? "stdio" : "http",
      ...(pid !== undefined && this.#state === "running" ? { pid } : {}),
      ...(this.#tools ? { tools: this.#tools.map((t) => t.name) } : {}),
      ...(this.#error ? { error: this.#error } : {}),
      restarts: this.#restarts,
      ...(this.#startedAt && this.#state === "running" ? { startedAt: this.#startedAt } : {}),
    };
  }

  /** The server's tools: listed on first need (starting it), then remembered across idle stops. */
  async tools(): Promise<McpToolInfo[]> {
    if (this.#tools) return this.#tools;
    await this.#ensure();
    return this.#tools ?? [];
  }

  /** Start now (the CLI's `mcp test`) and list the tools afresh. */
  async start(): Promise<McpToolInfo[]> {
    await this.#ensure();
    return this.#tools ?? [];
  }

  /** Call one tool by the server's own name for it. */
  async call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallResult> {
    this.#inFlight++;
    this.#clearIdle();
    try {
      const client = await this.#ensure();
      const result = (await client.callTool({ name: tool, arguments: args }, undefined, {
        ...(signal ? { signal } : {}),
        resetTimeoutOnProgress: true,
      })) as CallResult;
      this.#failures = 0;
      return result;
    } catch (err) {
      if (err instanceof McpServerError) throw err;
      // An HTTP server that went away (or forgot our session) fails below JSON-RPC: reconnect on the
      // next call. The call itself is not retried, since it may have had effects.
      if (this.config.url && (err as Error).name !== "McpError" && !signal?.aborted) {
        this.#error = `${tool} failed: ${(err as Error).message}`;
        void this.stop();
      }
      throw new McpServerError(`${this.label}: ${tool} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inFlight--;
      this.#armIdle();
    }
  }

  /** Stop the server (idle stop, config change, shutdown); it may start again unless `final`. */
  async stop(final = false): Promise<void> {
    if (final) this.#closed = true;
    this.#clearIdle();
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const starting = this.#starting;
    if (starting) await starting.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    const transport = this.#transport;
    this.#transport = undefined;
    if (client || transport) {
      this.#closing = true;
      try {
        await (client ? client.close() : transport?.close());
      } catch {
        // A server that is already gone is stopped.
      } finally {
        this.#closing = false;
      }
    }
    if (this.#state !== "failed" || final) this.#set("stopped");
  }

  #ensure(): Promise<Client> {
    if (this.#closed) return Promise.reject(new McpServerError(`${this.label} was removed`));
    if (this.#client && this.#state === "running") return Promise.resolve(this.#client);
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<Client> {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#set("starting");
    const timeoutMs = this.config.startup_timeout_s * 1000;
    let transport: Transport | undefined;
    try {
      const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
      transport = await this.#openTransport();
      const client = new Client(this.#o.clientInfo);
      this.#transport = transport;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${this.config.startup_timeout_s} s`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([client.connect(transport, { timeout: timeoutMs }), timeout]);
        this.#tools = await Promise.race([listAll(client), timeout]);
      } finally {
        clearTimeout(timer);
      }
      // Wired after connect: a crash from here on is a crash, not a failed start.
      const prior = transport.onclose;
      transport.onclose = () => {
        prior?.();
        this.#onClosed(transport!);
      };
      this.#client = client;
      this.#error = undefined;
      this.#startedAt = Date.now();
      this.#set("running");
      this.#armIdle();
      return client;
    } catch (err) {
      this.#transport = undefined;
      await transport?.close().catch(() => undefined);
      const message = `${this.label} could not start: ${(err as Error).message}`;
      this.#error = message;
      this.#set("failed");
      throw new McpServerError(message, { cause: err });
    }
  }

  async #openTransport(): Promise<Transport> {
    const c = this.config;
    const where = `agents.${this.agent.id}.mcp.${this.name}`;
    if (c.command) {
      const env = resolveSecrets(this.agent, c.env, `${where}.env`);
      mkdirSync(this.agent.home, { recursive: true });
      // Loaded with the first stdio server (the MCP SDK's message schemas are a megabyte of heap).
      const { ScopedStdioTransport } = await import("./stdio-transport.ts");
      return new ScopedStdioTransport({
        command: c.command,
        args: c.args,
        cwd: this.agent.home,
        // Only PATH (to find `node`, `npx`) and HOME (the agent's) besides what the server was given.
        env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: this.agent.home, ...env },
        onExit: ({ code, signal, stderr }) => {
          if (this.#closing) return;
          this.#error = `exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.split("\n").slice(-3).join(" | ")}` : ""}`;
        },
      });
    }
    const headers = resolveSecrets(this.agent, c.headers, `${where}.headers`);
    const { StreamableHTTPClientTransport } = await import(
      "@modelcontextprotocol/sdk/client/streamableHttp.js"
    );
    return new StreamableHTTPClientTransport(new URL(c.url!), { requestInit: { headers } });
  }

  /** The transport ended without `stop()`: the server crashed. Restart with backoff while restarts are allowed. */
  #onClosed(transport: Transport): void {
    if (this.#transport !== transport || this.#closing) return;
    this.#client = undefined;
    this.#transport = undefined;
    this.#clearIdle();
    this.#failures++;
    if (this.#closed || this.#failures > this.#o.maxRestarts) {
      this.#error = `${this.label} crashed ${this.#failures} times in a row: ${this.#error ?? "it exited"}`;
      this.#set("failed");
      return;
    }
    this.#set("restarting");
    const { baseMs, maxMs } = this.#o.backoff;
    const delay = Math.min(maxMs, baseMs * 2 ** (this.#failures - 1));
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restarts++;
      this.#ensure().catch(() => {
        // #start recorded the error; a later need tries again.
      });
    }, delay);
    this.#restartTimer.unref?.();
  }

  #armIdle(): void {
    this.#clearIdle();
    if (this.#inFlight > 0 || this.#state !== "running") return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#inFlight === 0) void this.stop();
    }, this.config.idle_timeout_s * 1000);
    this.#idleTimer.unref?.();
  }

  #clearIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #set(state: McpServerState): void {
    this.#state = state;
    this.#o.onChange?.();
  }
}

/** The result of `tools/call`. */
export interface CallResult {
  content?: Array<{ type: string; text?: string; [k: string]: unknown }>;
  structuredContent?: unknown;
  isError?: boolean;
}

async function listAll(client: Client): Promise<McpToolInfo[]> {
  const out: McpToolInfo[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await client.listTools(cursor ? { cursor } : undefined);
    for (const t of r.tools)
      out.push({
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        inputSchema: t.inputSchema as Record<string, unknown>,
      });
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  return out;
}
