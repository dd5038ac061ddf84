import type { GenerationOptions } from "@switchboard/core";
import type { ResponseFormatInput } from "./schemas.ts";

/** The sampling fields both APIs share, as the request carried them. */
export interface SamplingInput {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  seed?: number | null | undefined;
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  stop?: string | string[] | null | undefined;
  maxTokens?: number | null | undefined;
  format?:
    | ResponseFormatInput
    | {
        type: "json_schema";
        name: string;
        description?: string | null;
        schema?: Record<string, unknown> | null;
      }
    | null
    | undefined;
  toolChoice?: GenerationOptions["toolChoice"] | undefined;
}

function responseFormatOf(format: SamplingInput["format"]): GenerationOptions["responseFormat"] {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json" };
  // Chat Completions nests the schema under `json_schema`; the Responses API's `text.format` is flat.
  const spec = "json_schema" in format ? format.json_schema : format;
  return {
    type: "json",
    ...(spec.schema ? { schema: spec.schema } : {}),
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.description ? { description: spec.description } : {}),
  };
}

/** The generation options a request sets (`undefined` when it sets none, so the agent's config rules). */
export function generationOf(input: SamplingInput): GenerationOptions | undefined {
  const out: GenerationOptions = {};
  if (typeof input.temperature === "number") out.temperature = input.temperature;
  if (typeof input.top_p === "number") out.topP = input.top_p;
  if (typeof input.seed === "number") out.seed = input.seed;
  if (typeof input.presence_penalty === "number") out.presencePenalty = input.presence_penalty;
  if (typeof input.frequency_penalty === "number") out.frequencyPenalty = input.frequency_penalty;
  if (typeof input.maxTokens === "number") out.maxOutputTokens = input.maxTokens;
  const stop = typeof input.stop === "string" ? [input.stop] : input.stop;
  if (stop?.length) out.stopSequences = stop;
  const format = responseFormatOf(input.format);
  if (format) out.responseFormat = format;
  if (input.toolChoice) out.toolChoice = input.toolChoice;
  return Object.keys(out).length > 0 ? out : undefined;
}
