import type { AgentProfile, AgentTurn } from "@switchboard/core";
import type { z } from "zod";

/** A tool failure the model (and the user) should read: a refused path, a cap, a missing service. */
export class ToolError extends Error {
  override name = "ToolError";
  readonly code: string;
  constructor(message: string, code = "tool_error", options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** What a built-in tool sees while it runs. */
export interface ToolContext {
  agent: AgentProfile;
  turn: AgentTurn;
  /** The per-file character cap of `MEMORY.md` and `USER.md`. */
  memoryCharLimit: number;
  signal: AbortSignal;
}

/** A built-in tool, independent of the model SDK so the echo provider can call it too. */
export interface AgentTool<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  inputSchema: S;
  /** The JSON Schema the model sees instead of `inputSchema`'s (MCP tools, whose server validates). */
  jsonSchema?: Record<string, unknown>;
  /** The MCP server and the server's own name of the tool, for MCP tools. */
  mcp?: { server: string; tool: string };
  /** Wait for a human's approval before every call (an MCP server's `approval:` list). */
  requiresApproval?: boolean;
  execute(input: z.output<S>, ctx: ToolContext): Promise<unknown>;
}

/** Define a tool with its input type inferred from the schema. */
export function defineTool<S extends z.ZodType>(tool: AgentTool<S>): AgentTool {
  return tool as unknown as AgentTool;
}
