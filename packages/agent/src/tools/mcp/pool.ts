import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentProfile, McpServerConfig } from "@switchboard/core";
import { McpConnection, type McpConnectionOptions, type McpServerStatus } from "./connection.ts";

/** The status file a running gateway keeps per agent, read by `switchboard agent show`. */
export interface McpStatusFile {
  /** The gateway process that wrote it. */
  pid: number;
  updatedAt: number;
  servers: Record<string, McpServerStatus>;
}

/** Where the status of an agent's MCP servers is written: `<root>/state/mcp/<agent>.json`. */
export function mcpStatusPath(rootHome: string, agentId: string): string {
  return join(rootHome, "state", "mcp", `${agentId}.json`);
}

export interface McpPoolOptions extends Omit<McpConnectionOptions, "onChange"> {
  /** Write `<root>/state/mcp/<agent>.json` on every state change (default true). */
  statusFiles?: boolean;
}

interface Entry {
  fingerprint: string;
  connection: McpConnection;
}

/**
 * Every agent's MCP connections, keyed by agent and server name. Nothing starts until a turn of that
 * agent needs it; an agent whose definition changed (live reload) gets a fresh connection.
 */
export class McpPool {
  readonly #entries = new Map<string, Entry>();
  readonly #options: McpPoolOptions;

  constructor(options: McpPoolOptions = {}) {
    this.#options = options;
  }

  /** The agent's connections for its current definition; stale ones (changed or removed servers) are stopped. */
  connections(profile: AgentProfile): McpConnection[] {
    const out: McpConnection[] = [];
    const prefix = `${profile.id}\u0000`;
    for (const [key, entry] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length);
      const def = profile.mcp[name];
      if (!def || fingerprintOf(profile, def) !== entry.fingerprint) {
        this.#entries.delete(key);
        void entry.connection.stop(true);
      }
    }
    for (const [name, def] of Object.entries(profile.mcp)) {
      const key = `${prefix}${name}`;
      let entry = this.#entries.get(key);
      if (!entry) {
        const connection = new McpConnection(profile, name, def, {
          ...this.#options,
          onChange: () => this.#writeStatus(profile),
        });
        entry = { fingerprint: fingerprintOf(profile, def), connection };
        this.#entries.set(key, entry);
      }
      out.push(entry.connection);
    }
    return out;
  }

  /** One connection by agent and server name. */
  connection(profile: AgentProfile, server: string): McpConnection | undefined {
    return this.connections(profile).find((c) => c.name === server);
  }

  /** Status of every server an agent has had a connection for. */
  status(agentId: string): Record<string, McpServerStatus> {
    const out: Record<string, McpServerStatus> = {};
    const prefix = `${agentId}\u0000`;
    for (const [key, entry] of this.#entries)
      if (key.startsWith(prefix)) out[key.slice(prefix.length)] = entry.connection.status();
    return out;
  }

  /** Running server processes / sessions, over all agents. */
  running(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.connection.state === "running") n++;
    return n;
  }

  /** Stop every server (gateway shutdown). */
  async close(): Promise<void> {
    const all = [...this.#entries.values()];
    // Stopped while still listed, so the status files end up saying `stopped`.
    await Promise.all(all.map((e) => e.connection.stop(true)));
    this.#entries.clear();
  }

  #writeStatus(profile: AgentProfile): void {
    if (this.#options.statusFiles === false) return;
    const file = mcpStatusPath(profile.rootHome, profile.id);
    const body: McpStatusFile = { pid: process.pid, updatedAt: Date.now(), servers: this.status(profile.id) };
    try {
      mkdirSync(join(profile.rootHome, "state", "mcp"), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // The status file is informational; a read-only root must not break a turn.
    }
  }
}

/** Identical definitions of two agents still differ: the agent id and home are part of the identity. */
function fingerprintOf(profile: AgentProfile, def: McpServerConfig): string {
  return JSON.stringify([profile.id, profile.home, profile.secrets, profile.env, def]);
}
