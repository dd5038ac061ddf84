import { type Toolset, useAgent } from "@switchboard/core";
import { jsonSchema, type Schema, type ToolSet, tool, zodSchema } from "ai";
import { approvalGate } from "./approval.ts";
import { CRON_TOOLS } from "./cron.ts";
import { DELEGATE_TOOLS } from "./delegate.ts";
import { MEDIA_TOOLS } from "./media.ts";
import { MEMORY_TOOLS } from "./memory.ts";
import { SESSIONS_TOOLS } from "./sessions.ts";
import { SKILLS_TOOLS } from "./skills.ts";
import { type AgentTool, type ToolContext, ToolError } from "./types.ts";

export { DEFAULT_MEMORY_CHAR_LIMIT, MEMORY_SEPARATOR, parseMemoryEntries } from "./memory.ts";
export { listSkills, type SkillSummary } from "./skills.ts";
export { type AgentTool, type ToolContext, ToolError } from "./types.ts";

/** The built-in tools of each toolset. */
export const TOOLSET_TOOLS: Record<Toolset, AgentTool[]> = {
  memory: MEMORY_TOOLS,
  skills: SKILLS_TOOLS,
  sessions: SESSIONS_TOOLS,
  cron: CRON_TOOLS,
  delegate: DELEGATE_TOOLS,
  media: MEDIA_TOOLS,
};

/**
 * The tools of the given toolsets, in a stable order; `delegate` only for an agent with `delegate_to`
 * targets, `media` only in a chat turn (`chat`: the gateway gave the turn a way to its chat).
 */
export function toolsFor(
  toolsets: readonly Toolset[],
  options: { delegateTo?: readonly string[]; chat?: boolean } = {},
): AgentTool[] {
  return [...new Set(toolsets)]
    .filter((t) => t !== "delegate" || (options.delegateTo?.length ?? 0) > 0)
    .filter((t) => t !== "media" || options.chat === true)
    .flatMap((t) => TOOLSET_TOOLS[t] ?? []);
}

/**
 * Run one tool call for the context's agent: validate the input, call the tool hooks, execute inside the
 * agent's scope. Failures throw a `ToolError` whose message the model reads.
 */
export async function runTool(t: AgentTool, rawInput: unknown, ctx: ToolContext): Promise<unknown> {
  const base = { agentId: ctx.agent.id, sessionId: ctx.turn.sessionId, toolName: t.name, input: rawInput };
  await ctx.turn.hooks?.emit("beforeToolCall", base);
  try {
    const parsed = t.inputSchema.safeParse(rawInput ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`)
        .join("; ");
      throw new ToolError(`invalid input for ${t.name}: ${issues}`, "invalid_input");
    }
    if (ctx.signal.aborted) throw new ToolError("the turn was stopped", "aborted");
    await approvalGate(t, parsed.data, ctx);
    const output = await useAgent(ctx.agent, () => t.execute(parsed.data, ctx));
    await ctx.turn.hooks?.emit("afterToolCall", { ...base, output });
    return output;
  } catch (err) {
    const error =
      err instanceof ToolError
        ? err
        : new ToolError(`${t.name} failed: ${(err as Error)?.message ?? String(err)}`, "tool_failed", {
            cause: err,
          });
    await ctx.turn.hooks?.emit("afterToolCall", { ...base, output: undefined, error: error.message });
    throw error;
  }
}

// The AI SDK converts a zod schema to JSON Schema on every model call (its `jsonSchema` getter memoizes
// per wrapper object only): one wrapper per tool, kept for the process, makes the conversion happen once.
const SDK_SCHEMAS = new WeakMap<AgentTool, Schema>();

function sdkSchema(t: AgentTool): Schema {
  let schema = SDK_SCHEMAS.get(t);
  if (!schema) {
    schema = (
      t.jsonSchema ? jsonSchema(t.jsonSchema as Parameters<typeof jsonSchema>[0]) : zodSchema(t.inputSchema)
    ) as Schema;
    SDK_SCHEMAS.set(t, schema);
  }
  return schema;
}

/** The tools as an AI SDK tool set; each call goes through `runTool`. */
export function toAiSdkTools(tools: AgentTool[], ctx: ToolContext): ToolSet {
  const out: ToolSet = {};
  for (const t of tools) {
    out[t.name] = tool({
      description: t.description,
      inputSchema: sdkSchema(t),
      execute: (input: unknown) => runTool(t, input, ctx),
    });
  }
  return out;
}
