import { z } from "zod";
import { MAX_HEADER_CHARS } from "./http.ts";

/** Parts per message and characters per text part: generous, but bounded. */
const MAX_PARTS = 1000;
const MAX_MESSAGES = 10_000;

const imageUrl = z
  .string()
  .refine((u) => /^https?:\/\//i.test(u) || /^data:image\/[a-z0-9.+-]+;base64,/i.test(u), {
    message: "must be an http(s) URL or a base64 data:image/ URL",
  });

const textPart = <T extends string>(type: T) => z.object({ type: z.literal(type), text: z.string() });

/** Content parts clients send: Chat Completions' and the Responses API's spellings both. Files and audio are not supported. */
export const contentPartSchema = z.discriminatedUnion("type", [
  textPart("text"),
  textPart("input_text"),
  textPart("output_text"),
  z.object({ type: z.literal("refusal"), refusal: z.string() }),
  z.object({
    type: z.literal("image_url"),
    image_url: z.union([imageUrl, z.object({ url: imageUrl, detail: z.string().optional() })]),
  }),
  z.object({ type: z.literal("input_image"), image_url: imageUrl, detail: z.string().optional() }),
]);
export type ContentPartInput = z.output<typeof contentPartSchema>;

export const contentSchema = z.union([z.string(), z.array(contentPartSchema).max(MAX_PARTS)]);
export type ContentInput = z.output<typeof contentSchema>;

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const chatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: contentSchema.nullish(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
});
export type ChatMessageInput = z.output<typeof chatMessageSchema>;

const modelField = z.string().max(MAX_HEADER_CHARS).optional();
const streamField = z.boolean().nullish();

const maxTokensField = z.number().int("must be a whole number").positive("must be positive").nullish();

/** OpenAI's rule for function names; providers reject anything else. */
const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'");
const jsonSchemaObject = z.record(z.string(), z.unknown());

/** A client tool in Chat Completions' spelling. */
const chatToolSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: toolName,
    description: z.string().nullish(),
    parameters: jsonSchemaObject.nullish(),
    strict: z.boolean().nullish(),
  }),
});
export type ChatToolInput = z.output<typeof chatToolSchema>;

const toolChoiceMode = z.enum(["none", "auto", "required"]);
const chatToolChoice = z.union([
  toolChoiceMode,
  z.object({ type: z.literal("function"), function: z.object({ name: toolName }) }),
]);

const responseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string(),
      description: z.string().nullish(),
      schema: jsonSchemaObject.nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormatInput = z.output<typeof responseFormatSchema>;

/** Sampling fields shared by both APIs. A value the API cannot honour is a 400 naming it, not silently taken. */
const samplingFields = {
  temperature: z.number().min(0, "must be between 0 and 2").max(2, "must be between 0 and 2").nullish(),
  top_p: z.number().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  /** The end user: feeds the synthetic source's `user_id` (routes, session separation). */
  user: z.string().max(MAX_HEADER_CHARS).nullish(),
};

/** `POST /v1/chat/completions`. Client tools, `response_format` and sampling fields reach the agent's model. */
export const chatCompletionRequestSchema = z.object({
  model: modelField,
  messages: z.array(chatMessageSchema).min(1).max(MAX_MESSAGES),
  stream: streamField,
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  tools: z.array(chatToolSchema).max(128).nullish(),
  tool_choice: chatToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.nullish(),
  max_tokens: maxTokensField,
  max_completion_tokens: maxTokensField,
  n: z
    .number()
    .int()
    .refine((n) => n === 1, "only n = 1 is supported: an agent gives one answer per turn")
    .nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  ...samplingFields,
});
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

const messageItemSchema = z.object({
  type: z.literal("message"),
  id: z.string().optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: contentSchema,
});

/**
 * A Responses API input item: a message (`type` may be omitted), a function call the model made, or the
 * caller's result of one. Discriminated on `type`, so a bad item's error names the field that is wrong.
 */
export const inputItemSchema = z.preprocess(
  (v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && (v as { type?: unknown }).type === undefined
      ? { ...v, type: "message" }
      : v,
  z.discriminatedUnion("type", [
    messageItemSchema,
    z.object({
      type: z.literal("function_call"),
      id: z.string().optional(),
      call_id: z.string(),
      name: z.string(),
      arguments: z.string(),
      status: z.string().optional(),
    }),
    z.object({
      type: z.literal("function_call_output"),
      id: z.string().optional(),
      call_id: z.string(),
      output: z.union([z.string(), z.array(contentPartSchema)]),
      status: z.string().optional(),
    }),
  ]),
);
export type InputItem = z.output<typeof inputItemSchema>;

const inputField = z.union([z.string(), z.array(inputItemSchema).min(1).max(MAX_MESSAGES)]);

/** A client tool in the Responses API's (flat) spelling. */
const responseToolSchema = z.object({
  type: z.literal("function"),
  name: toolName,
  description: z.string().nullish(),
  parameters: jsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});
export type ResponseToolInput = z.output<typeof responseToolSchema>;

const responseTextFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string(),
    description: z.string().nullish(),
    schema: jsonSchemaObject,
    strict: z.boolean().nullish(),
  }),
]);

const idField = z
  .string()
  .min(1)
  .max(MAX_HEADER_CHARS)
  .regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters")
  .regex(/^[\u0000-\u007f]*$/, "must be ASCII");

/** `POST /v1/responses`. */
export const responseRequestSchema = z.object({
  model: modelField,
  input: inputField,
  instructions: z.string().nullish(),
  previous_response_id: idField.nullish(),
  stream: streamField,
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  tools: z.array(responseToolSchema).max(128).nullish(),
  tool_choice: z.union([toolChoiceMode, z.object({ type: z.literal("function"), name: toolName })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: responseTextFormat.nullish() }).nullish(),
  max_output_tokens: maxTokensField,
  ...samplingFields,
});
export type ResponseRequest = z.output<typeof responseRequestSchema>;

/** `POST /v1/runs`: `input` as for responses; `session_id` is the body spelling of X-Switchboard-Session-Id. */
export const runRequestSchema = z.object({
  model: modelField,
  input: inputField,
  instructions: z.string().nullish(),
  session_id: idField.nullish(),
  user: samplingFields.user,
});
export type RunRequest = z.output<typeof runRequestSchema>;
