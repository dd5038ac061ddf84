import type { ChatMessage, ContentPart } from "@switchboard/core";
import { ApiError } from "./errors.ts";
import type { ChatMessageInput, ContentInput, ContentPartInput, InputItem } from "./schemas.ts";

/** A request's messages as a turn takes them. */
export interface Conversation {
  /** `system`/`developer` messages and `instructions`, layered on top of the agent's own prompt. */
  extraSystem: string | undefined;
  /** Everything before the trailing user message(s). */
  history: ChatMessage[];
  /** The trailing user message(s), or the tool results that continue a paused turn: this turn's input. */
  input: ChatMessage[];
}

function mimeOfDataUrl(url: string): string | undefined {
  return /^data:([^;,]+)[;,]/i.exec(url)?.[1]?.toLowerCase();
}

function toPart(part: ContentPartInput): ContentPart {
  switch (part.type) {
    case "text":
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "refusal":
      return { type: "text", text: part.refusal };
    case "image_url":
    case "input_image": {
      const url = typeof part.image_url === "string" ? part.image_url : part.image_url.url;
      const mimeType = mimeOfDataUrl(url);
      return mimeType ? { type: "image", url, mimeType } : { type: "image", url };
    }
  }
}

/** Content as the runner takes it: plain text when there are no images (the common case, and what gets stored). */
export function toContent(content: ContentInput | null | undefined): string | ContentPart[] {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  const parts = content.map(toPart);
  if (parts.every((p) => p.type === "text")) return parts.map((p) => (p as { text: string }).text).join("\n");
  return parts;
}

/** The text of some content, images dropped (for system prompts and stable ids). */
export function textOf(content: string | ContentPart[]): string {
  if (typeof content === "string") return content;
  return content
    .filter((p): p is { type: "text"; text: string } => p.type === "text")
    .map((p) => p.text)
    .join("\n");
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/**
 * Split messages into system text, history and the input: the trailing user messages, or the trailing tool
 * results (a client tool round trip continuing); `param` names the list in errors.
 */
function split(messages: ChatMessage[], systems: string[], param: string, count: number): Conversation {
  let start = messages.length;
  while (start > 0 && messages[start - 1]!.role === "user") start--;
  if (start === messages.length) while (start > 0 && messages[start - 1]!.role === "tool") start--;
  if (start === messages.length) {
    throw new ApiError(400, `The last message of '${param}' must be a user message or a tool result.`, {
      code: "invalid_value",
      param: count > 0 ? `${param}[${count - 1}].role` : param,
    });
  }
  const extra = systems.filter((s) => s.trim() !== "").join("\n\n");
  return { extraSystem: extra || undefined, history: messages.slice(0, start), input: messages.slice(start) };
}

/** Chat Completions `messages` → a conversation. */
export function fromChatMessages(messages: readonly ChatMessageInput[]): Conversation {
  const systems: string[] = [];
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const content = toContent(m.content);
    if (m.role === "system" || m.role === "developer") {
      systems.push(textOf(content));
      continue;
    }
    const msg: ChatMessage = { role: m.role, content };
    if (m.role === "assistant" && m.tool_calls?.length) {
      msg.toolCalls = m.tool_calls.map((c) => ({
        id: c.id,
        name: c.function.name,
        input: parseArguments(c.function.arguments),
      }));
    }
    if (m.role === "tool" && m.tool_call_id) msg.toolCallId = m.tool_call_id;
    out.push(msg);
  }
  return split(out, systems, "messages", messages.length);
}

/** Responses/runs `input` (+ `instructions`) → a conversation. */
export function fromInput(
  input: string | readonly InputItem[],
  instructions: string | null | undefined,
): Conversation {
  const systems = instructions ? [instructions] : [];
  if (typeof input === "string") {
    return { extraSystem: instructions || undefined, history: [], input: [{ role: "user", content: input }] };
  }
  const out: ChatMessage[] = [];
  for (const item of input) {
    if (item.type === "function_call") {
      const call = { id: item.call_id, name: item.name, input: parseArguments(item.arguments) };
      // Consecutive calls of one model step belong to one assistant message.
      const last = out[out.length - 1];
      if (last?.role === "assistant" && last.toolCalls) last.toolCalls.push(call);
      else out.push({ role: "assistant", content: "", toolCalls: [call] });
      continue;
    }
    if (item.type === "function_call_output") {
      out.push({ role: "tool", content: toContent(item.output), toolCallId: item.call_id });
      continue;
    }
    const content = toContent(item.content);
    if (item.role === "system" || item.role === "developer") systems.push(textOf(content));
    else out.push({ role: item.role, content });
  }
  return split(out, systems, "input", input.length);
}
