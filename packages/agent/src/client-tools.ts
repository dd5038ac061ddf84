import type { ClientTool, GenerationOptions } from "@switchboard/core";
import { AgentError } from "@switchboard/core";
import { type JSONSchema7, jsonSchema, type OutputInterface, type ToolChoice, type ToolSet, tool } from "ai";

/**
 * The caller's tools as AI SDK tools without `execute`: the SDK's loop stops at a step that calls one,
 * so the turn ends with the call for the caller to run (OpenAI's `tool_calls` semantics).
 */
export function clientToolSet(tools: readonly ClientTool[], agentTools: ToolSet): ToolSet {
  const out: ToolSet = {};
  for (const t of tools) {
    if (t.name in agentTools) {
      throw new AgentError(
        "tool_name_conflict",
        `The client tool "${t.name}" has the name of one of the agent's own tools; rename it.`,
      );
    }
    out[t.name] = tool({
      ...(t.description ? { description: t.description } : {}),
      inputSchema: jsonSchema(t.parameters as JSONSchema7),
      ...(t.strict !== undefined ? { strict: t.strict } : {}),
    });
  }
  return out;
}

/**
 * JSON output as the caller asked for it: only the provider's `response_format` is set. The text is passed
 * through unparsed, since validating it is the caller's business (the SDKs' `parse` helpers do it).
 */
export function jsonOutput(format: NonNullable<GenerationOptions["responseFormat"]>): OutputInterface {
  return {
    name: "json",
    responseFormat: Promise.resolve({
      type: "json" as const,
      ...(format.schema ? { schema: format.schema as JSONSchema7 } : {}),
      ...(format.name ? { name: format.name } : {}),
      ...(format.description ? { description: format.description } : {}),
    }),
    parseCompleteOutput: async ({ text }) => text,
    parsePartialOutput: async () => undefined,
    createElementStreamTransform: () => undefined,
  };
}

/** OpenAI's `tool_choice` in the AI SDK's spelling. */
export function toolChoiceOf(choice: GenerationOptions["toolChoice"]): ToolChoice<ToolSet> | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === "string") return choice;
  return { type: "tool", toolName: choice.toolName };
}

/** The sampling settings of `streamText`, only those the caller set. */
export function samplingOf(
  g: GenerationOptions | undefined,
): Omit<GenerationOptions, "responseFormat" | "toolChoice"> {
  if (!g) return {};
  return {
    ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
    ...(g.topP !== undefined ? { topP: g.topP } : {}),
    ...(g.maxOutputTokens !== undefined ? { maxOutputTokens: g.maxOutputTokens } : {}),
    ...(g.stopSequences?.length ? { stopSequences: g.stopSequences } : {}),
    ...(g.seed !== undefined ? { seed: g.seed } : {}),
    ...(g.presencePenalty !== undefined ? { presencePenalty: g.presencePenalty } : {}),
    ...(g.frequencyPenalty !== undefined ? { frequencyPenalty: g.frequencyPenalty } : {}),
  };
}
