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
/** Sampling fields checked rather than silently taken: a value the API cannot honour is a 400 naming it. */
const honouredLimits = {
  temperature: z.number().min(0, "must be between 0 and 2").max(2, "must be between 0 and 2").nullish(),
};

/** `POST /v1/chat/completions`. Sampling fields are accepted and ignored: the agent's own model config rules. */
export const chatCompletionRequestSchema = z.object({
  model: modelField,
  messages: z.array(chatMessageSchema).min(1).max(MAX_MESSAGES),
  stream: streamField,
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  ...honouredLimits,
  max_tokens: maxTokensField,
  max_completion_tokens: maxTokensField,
  n: z
    .number()
    .int()
    .refine((n) => n === 1, "only n = 1 is supported: an agent gives one answer per turn")
    .nullish(),
});
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

/** A Responses API input item; only messages (`type` omitted or `message`). */
export const inputItemSchema = z.object({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: contentSchema,
});
export type InputItem = z.output<typeof inputItemSchema>;

const inputField = z.union([z.string(), z.array(inputItemSchema).min(1).max(MAX_MESSAGES)]);

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
  ...honouredLimits,
  max_output_tokens: maxTokensField,
});
export type ResponseRequest = z.output<typeof responseRequestSchema>;

/** `POST /v1/runs`: `input` as for responses; `session_id` is the body spelling of X-Switchboard-Session-Id. */
export const runRequestSchema = z.object({
  model: modelField,
  input: inputField,
  instructions: z.string().nullish(),
  session_id: idField.nullish(),
});
export type RunRequest = z.output<typeof runRequestSchema>;
