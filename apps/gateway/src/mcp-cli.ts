import { existsSync, readFileSync } from "node:fs";
import { McpPool, type McpStatusFile, mcpStatusPath } from "@switchboard/agent";
import type { AgentProfile } from "@switchboard/core";
import type { Command } from "commander";
import type { CliHelpers } from "./cron-cli.ts";
import { alive } from "./home-lock.ts";
import { printJson, table } from "./output.ts";

/** One MCP server of an agent as `agent show` reports it. */
export interface McpServerSummary {
  transport: "stdio" | "http";
  /** `node ./mcp/files.mjs` or the URL. */
  target: string;
  /** `running`, `stopped`, `restarting`, `failed`, or `not started` (no running gateway has needed it yet). */
  state: string;
  /** As last listed by the running gateway; `tools:` filters what the model sees. */
  tools?: string[];
  filter?: string[];
  approval: string[];
  pid?: number;
  error?: string;
}

/** The state of every MCP server of an agent, from the status file a running gateway keeps. */
export function mcpSummary(profile: AgentProfile): Record<string, McpServerSummary> {
  const file = mcpStatusPath(profile.rootHome, profile.id);
  let status: McpStatusFile | undefined;
  if (existsSync(file)) {
    try {
      status = JSON.parse(readFileSync(file, "utf8")) as McpStatusFile;
    } catch {
      status = undefined;
    }
  }
  const running = status !== undefined && alive(status.pid);
  const out: Record<string, McpServerSummary> = {};
  for (const [name, def] of Object.entries(profile.mcp)) {
    const s = status?.servers[name];
    out[name] = {
      transport: def.command ? "stdio" : "http",
      target: def.command ? [def.command, ...def.args].join(" ") : def.url!,
      state: !s ? "not started" : running ? s.state : "stopped",
      ...(s?.tools ? { tools: s.tools } : {}),
      ...(def.tools ? { filter: def.tools } : {}),
      approval: def.approval,
      ...(running && s?.pid ? { pid: s.pid } : {}),
      ...(s?.error ? { error: s.error } : {}),
    };
  }
  return out;
}

/** `switchboard mcp test <agent> <server>`: start the server as that agent would, list its tools, stop it. */
export function registerMcpCommands(program: Command, h: CliHelpers): void {
  const mcp = program.command("mcp").description("the MCP servers of each agent");
  mcp
    .command("test <agent> <server>")
    .description("start an agent's MCP server in that agent's scope (home, env, secrets) and list its tools")
    .option("--json")
    .action(async (agentId: string, server: string, _o, cmd: Command) => {
      const opts = h.globals(cmd);
      const cfg = await h.loadOrExit(opts);
      const profile = cfg.registry.get(agentId);
      if (!profile) h.fail(new Error(`no agent "${agentId}" (agents: ${cfg.registry.ids().join(", ")})`));
      const def = profile.mcp[server];
      if (!def) {
        const names = Object.keys(profile.mcp);
        h.fail(
          new Error(
            `agent "${agentId}" has no MCP server "${server}"${names.length ? ` (servers: ${names.join(", ")})` : `: add one under agents.${agentId}.mcp`}`,
          ),
        );
      }
      const pool = new McpPool({ statusFiles: false });
      try {
        const tools = await pool.connection(profile, server)!.start();
        const visible = def.tools ? new Set(def.tools) : undefined;
        const rows = tools.map((t) => ({
          name: t.name,
          description: t.description ?? "",
          shown: visible ? visible.has(t.name) : true,
          approval: def.approval.includes(t.name),
        }));
        if (opts.json) printJson({ agent: agentId, server, tools: rows });
        else {
          process.stdout.write(
            `MCP server "${server}" of agent "${agentId}" started: ${rows.length} tools\n`,
          );
          process.stdout.write(
            `${table(
              ["TOOL", "SHOWN", "APPROVAL", "DESCRIPTION"],
              rows.map((r) => [
                r.name,
                r.shown ? "yes" : "no (tools:)",
                r.approval ? "yes" : "no",
                r.description,
              ]),
            )}\n`,
          );
        }
      } catch (err) {
        await pool.close();
        h.fail(err);
      }
      await pool.close();
    });
}
