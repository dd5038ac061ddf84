import type { AgentProfile, ClientTool, GenerationOptions } from "@switchboard/core";
import type { ApiContext } from "./context.ts";
import { ApiError } from "./errors.ts";
import type { ChatToolInput, ResponseToolInput } from "./schemas.ts";

const EMPTY_PARAMETERS = { type: "object", properties: {} };

/** One client tool, spelt either way. */
function clientTool(t: {
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}): ClientTool {
  return {
    name: t.name,
    ...(t.description ? { description: t.description } : {}),
    parameters: t.parameters ?? EMPTY_PARAMETERS,
    ...(typeof t.strict === "boolean" ? { strict: t.strict } : {}),
  };
}

/**
 * The caller's tools, checked against the agent's own: a name the agent already uses would make the call
 * ambiguous (run here, or handed back?), so it is a 400 that names it.
 */
function checked(
  ctx: ApiContext,
  agent: AgentProfile,
  tools: ClientTool[],
  param: (i: number) => string,
): ClientTool[] {
  const own = new Set(ctx.gateway.runner.toolNames?.(agent) ?? []);
  const seen = new Set<string>();
  tools.forEach((t, i) => {
    if (own.has(t.name)) {
      throw new ApiError(
        400,
        `The tool '${t.name}' has the name of one of agent '${agent.id}''s own tools; rename your tool.`,
        { code: "tool_name_conflict", param: param(i) },
      );
    }
    if (seen.has(t.name)) {
      throw new ApiError(400, `The tool '${t.name}' is declared twice.`, {
        code: "duplicate_tool_name",
        param: param(i),
      });
    }
    seen.add(t.name);
  });
  return tools;
}

/** Chat Completions `tools`. */
export function chatClientTools(
  ctx: ApiContext,
  agent: AgentProfile,
  tools: readonly ChatToolInput[] | null | undefined,
): ClientTool[] {
  if (!tools?.length) return [];
  return checked(
    ctx,
    agent,
    tools.map((t) => clientTool(t.function)),
    (i) => `tools[${i}].function.name`,
  );
}

/** Responses API `tools` (only `function` tools are accepted by the schema). */
export function responseClientTools(
  ctx: ApiContext,
  agent: AgentProfile,
  tools: readonly ResponseToolInput[] | null | undefined,
): ClientTool[] {
  if (!tools?.length) return [];
  return checked(ctx, agent, tools.map(clientTool), (i) => `tools[${i}].name`);
}

/** `tool_choice` of either API: a mode, or one named function. */
export function toolChoiceOf(
  choice: string | { function?: { name: string }; name?: string } | null | undefined,
): GenerationOptions["toolChoice"] | undefined {
  if (!choice) return undefined;
  if (typeof choice === "string") return choice as "auto" | "none" | "required";
  const name = choice.function?.name ?? choice.name;
  return name ? { toolName: name } : undefined;
}

/** The OpenAI wire form of a client tool call. */
export function wireToolCall(call: { toolCallId: string; toolName: string; input: unknown }) {
  return {
    id: call.toolCallId,
    type: "function" as const,
    function: {
      name: call.toolName,
      arguments: typeof call.input === "string" ? call.input : JSON.stringify(call.input ?? {}),
    },
  };
}
