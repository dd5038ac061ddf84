import { AgentError, type AgentProfile } from "@switchboard/core";
import { z } from "zod";
import { type AgentTool, ToolError } from "../types.ts";
import type { CallResult, McpConnection } from "./connection.ts";
import type { McpPool } from "./pool.ts";

/** Model tool names: letters, digits, `_` and `-`, at most 64 (OpenAI's rule, the strictest). */
const TOOL_NAME_MAX = 64;

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, TOOL_NAME_MAX);
}

/**
 * The MCP tools of an agent for one turn, starting servers whose tools were never listed. A server that
 * cannot start fails the turn with an error naming it. Names shared by two servers, or with a built-in
 * tool, are prefixed with the server name (`files_read_file`); `tools:` filters what the model sees.
 */
export async function mcpToolsFor(
  pool: McpPool,
  profile: AgentProfile,
  builtinNames: ReadonlySet<string>,
): Promise<AgentTool[]> {
  const connections = pool.connections(profile);
  if (connections.length === 0) return [];
  const listed = await Promise.all(
    connections.map(async (c) => {
      try {
        const tools = await c.tools();
        const allowed = c.config.tools ? new Set(c.config.tools) : undefined;
        return { c, tools: allowed ? tools.filter((t) => allowed.has(t.name)) : tools };
      } catch (err) {
        throw new AgentError("mcp_unavailable", (err as Error).message, { cause: err });
      }
    }),
  );
  const exposed = exposedNamer(
    listed.map(({ tools }) => tools.map((t) => t.name)),
    builtinNames,
  );
  const out: AgentTool[] = [];
  for (const { c, tools } of listed) for (const t of tools) out.push(mcpTool(c, t, exposed(c.name, t.name)));
  return out;
}

/**
 * The names the model would see for the MCP tools listed so far (servers that never started are not
 * asked): what `mcpToolsFor` returns, without starting anything.
 */
export function knownMcpToolNames(
  pool: McpPool,
  profile: AgentProfile,
  builtinNames: ReadonlySet<string>,
): string[] {
  const listed = pool.connections(profile).map((c) => {
    const tools = c.status().tools ?? [];
    const allowed = c.config.tools ? new Set(c.config.tools) : undefined;
    return { server: c.name, tools: allowed ? tools.filter((t) => allowed.has(t)) : tools };
  });
  const exposed = exposedNamer(
    listed.map((l) => l.tools),
    builtinNames,
  );
  return listed.flatMap(({ server, tools }) => tools.map((t) => exposed(server, t)));
}

/** Names shared by two servers, or with a built-in tool, are prefixed with the server name. */
function exposedNamer(
  perServer: readonly string[][],
  builtinNames: ReadonlySet<string>,
): (server: string, tool: string) => string {
  const counts = new Map<string, number>();
  for (const tools of perServer)
    for (const t of tools) counts.set(safeName(t), (counts.get(safeName(t)) ?? 0) + 1);
  return (server, tool) => {
    const base = safeName(tool);
    const clash = (counts.get(base) ?? 0) > 1 || builtinNames.has(base);
    return clash ? safeName(`${server}_${tool}`) : base;
  };
}

const ANY_OBJECT = z.record(z.string(), z.unknown());

function mcpTool(
  c: McpConnection,
  t: { name: string; description?: string; inputSchema: Record<string, unknown> },
  exposed: string,
): AgentTool {
  return {
    name: exposed,
    description: t.description ?? `${t.name} (MCP server ${c.name})`,
    // The server validates its own arguments; the model sees the server's JSON Schema.
    inputSchema: ANY_OBJECT,
    jsonSchema: t.inputSchema,
    mcp: { server: c.name, tool: t.name },
    ...(c.config.approval.includes(t.name) ? { requiresApproval: true } : {}),
    execute: async (input, ctx) => {
      let result: CallResult;
      try {
        result = await c.call(t.name, input as Record<string, unknown>, ctx.signal);
      } catch (err) {
        throw new ToolError((err as Error).message, "mcp_error", { cause: err });
      }
      const text = resultText(result);
      if (result.isError) throw new ToolError(text || `${t.name} failed`, "mcp_tool_error");
      return result.structuredContent ?? text;
    },
  };
}

function resultText(result: CallResult): string {
  return (result.content ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : `[${p.type}]`)).join("\n");
}
