import type { ChatMessage, ContentPart } from "@switchboard/core";
import type { AssistantContent, ModelMessage, UserContent } from "ai";

/** The plain text of a message's content (image parts are left out). */
export function contentText(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  return content
    .filter((p): p is Extract<ContentPart, { type: "text" }> => p.type === "text")
    .map((p) => p.text)
    .join("\n");
}

/** The text of the last user message of `input`, else of `history`. */
export function lastUserText(history: readonly ChatMessage[], input: readonly ChatMessage[]): string {
  for (const list of [input, history]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      if (m.role === "user") return contentText(m.content);
    }
  }
  return "";
}

function userContent(content: ChatMessage["content"]): UserContent {
  if (typeof content === "string") return content;
  return content.map((p) => {
    if (p.type === "text") return { type: "text" as const, text: p.text };
    let url: URL | undefined;
    try {
      url = new URL(p.url);
    } catch {
      url = undefined;
    }
    if (!url) return { type: "text" as const, text: `[image: ${p.url}]` };
    return { type: "image" as const, image: url, ...(p.mimeType ? { mediaType: p.mimeType } : {}) };
  });
}

export interface ConvertedMessages {
  messages: ModelMessage[];
  /** `system` messages found in the conversation; they join the system prompt. */
  system: string[];
}

/**
 * Convert a session's messages to the AI SDK's. Tool calls without a result and results without a call are
 * dropped, since providers reject a conversation with either.
 */
export function toModelMessages(
  history: readonly ChatMessage[],
  input: readonly ChatMessage[],
): ConvertedMessages {
  const all = [...history, ...input];
  const system: string[] = [];
  const answered = new Set(all.filter((m) => m.role === "tool" && m.toolCallId).map((m) => m.toolCallId!));
  const called = new Map<string, string>();
  const messages: ModelMessage[] = [];
  for (const m of all) {
    if (m.role === "system") {
      const text = contentText(m.content).trim();
      if (text) system.push(text);
    } else if (m.role === "user") {
      messages.push({ role: "user", content: userContent(m.content) });
    } else if (m.role === "assistant") {
      const text = contentText(m.content);
      const calls = (m.toolCalls ?? []).filter((c) => answered.has(c.id));
      for (const c of calls) called.set(c.id, c.name);
      if (calls.length === 0) {
        if (text) messages.push({ role: "assistant", content: text });
        continue;
      }
      const content: Exclude<AssistantContent, string> = [];
      if (text) content.push({ type: "text", text });
      for (const c of calls)
        content.push({ type: "tool-call", toolCallId: c.id, toolName: c.name, input: c.input ?? {} });
      messages.push({ role: "assistant", content });
    } else if (m.role === "tool" && m.toolCallId) {
      const toolName = called.get(m.toolCallId);
      if (!toolName) continue;
      messages.push({
        role: "tool",
        content: [
          {
            type: "tool-result",
            toolCallId: m.toolCallId,
            toolName,
            output: { type: "text", value: contentText(m.content) },
          },
        ],
      });
    }
  }
  return { messages, system };
}
