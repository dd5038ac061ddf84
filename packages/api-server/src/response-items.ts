import type { ChatMessage, ClientTool } from "@switchboard/core";
import { textOf } from "./convert.ts";
import type { ApiError } from "./errors.ts";
import { newId } from "./ids.ts";

/** An output text part as the spec requires it: `annotations` and `logprobs` always present. */
export const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** A `function_call` output item: a call of one of the caller's tools, for the caller to run. */
export function functionCallItem(
  call: { toolCallId: string; toolName: string; input: unknown },
  status: "in_progress" | "completed",
) {
  return {
    id: `fc_${call.toolCallId.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 48) || newId("", 24)}`,
    type: "function_call",
    status,
    call_id: call.toolCallId,
    name: call.toolName,
    arguments: typeof call.input === "string" ? call.input : JSON.stringify(call.input ?? {}),
  };
}

/** The request's tools as echoed on the response object. */
export function toolsEcho(tools: readonly ClientTool[]) {
  return tools.map((t) => ({
    type: "function",
    name: t.name,
    description: t.description ?? null,
    parameters: t.parameters,
    strict: t.strict ?? null,
  }));
}

/**
 * `response.failed`'s `error.code` must be one of the spec's `ResponseErrorCode` values; the precise
 * Switchboard code stays in the message and in the JSON error of a non-streaming request.
 */
export function responseErrorCode(err: ApiError): "server_error" | "rate_limit_exceeded" | "invalid_prompt" {
  if (err.status === 429) return "rate_limit_exceeded";
  if (err.status === 400) return "invalid_prompt";
  return "server_error";
}

/** The items a response was given as input, as `GET /v1/responses/{id}/input_items` lists them (`ItemResource`). */
export function inputItemsOf(
  responseId: string,
  messages: readonly ChatMessage[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  messages.forEach((m, i) => {
    const id = `${m.role === "tool" ? "fco" : m.role === "assistant" && m.toolCalls?.length ? "fc" : "msg"}_${responseId.slice(5, 29)}_${i}`;
    const text = textOf(m.content);
    if (m.role === "tool") {
      out.push({
        id,
        type: "function_call_output",
        status: "completed",
        call_id: m.toolCallId ?? "",
        output: text,
      });
    } else if (m.role === "assistant") {
      if (text)
        out.push({
          id: `msg_${id.split("_").slice(1).join("_")}`,
          type: "message",
          role: "assistant",
          status: "completed",
          content: [outputText(text)],
        });
      for (const [j, c] of (m.toolCalls ?? []).entries()) {
        out.push({
          ...functionCallItem({ toolCallId: c.id, toolName: c.name, input: c.input }, "completed"),
          id: `${id}_${j}`,
        });
      }
    } else {
      out.push({
        id,
        type: "message",
        role: m.role,
        status: "completed",
        content: [{ type: "input_text", text }],
      });
    }
  });
  return out;
}
