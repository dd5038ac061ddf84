import type { AgentEvent, ChatMessage, ClientTool, Usage } from "@switchboard/core";
import type { Hono } from "hono";
import { responseClientTools, toolChoiceOf } from "../client-tools.ts";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { fromInput } from "../convert.ts";
import { ApiError } from "../errors.ts";
import { generationOf } from "../generation.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { newId, nowSeconds } from "../ids.ts";
import { inlineImages } from "../images.ts";
import {
  functionCallItem,
  inputItemsOf,
  outputText,
  responseErrorCode,
  toolsEcho,
} from "../response-items.ts";
import type { StoredResponse } from "../response-store.ts";
import { responseRequestSchema } from "../schemas.ts";
import { seesAgent, selectAgent } from "../select.ts";
import { planSession } from "../session.ts";
import { SSE_HEADERS, sseFrame, sseStream } from "../sse.ts";
import { agentFailure, consume, startTurn } from "../turn.ts";
import { methods } from "./methods.ts";
import { storedHistory } from "./stored-history.ts";

interface ResponseShape {
  id: string;
  createdAt: number;
  model: string;
  msgId: string;
  previousResponseId: string | null;
  instructions: string | null;
  metadata: Record<string, string>;
  /** What the request asked for, echoed as the spec wants it. */
  store: boolean;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  tools: ClientTool[];
  toolChoice: unknown;
  textFormat: unknown;
  user: string | undefined;
}

type ToolCall = { toolCallId: string; toolName: string; input: unknown };

const usageOf = (u: Usage) => ({
  input_tokens: u.inputTokens,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: u.outputTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: u.inputTokens + u.outputTokens,
});

const messageItem = (msgId: string, status: "in_progress" | "completed", text?: string) => ({
  id: msgId,
  type: "message",
  status,
  role: "assistant",
  content: text === undefined ? [] : [outputText(text)],
});

/** A completed response's output: its text as a message (when there is text or nothing else), then its client tool calls. */
const outputItems = (msgId: string, text: string, toolCalls: readonly ToolCall[]) => [
  ...(text || toolCalls.length === 0 ? [messageItem(msgId, "completed", text)] : []),
  ...toolCalls.map((call) => functionCallItem(call, "completed")),
];

/** The `response` object in a given state. */
function responseObject(
  s: ResponseShape,
  state:
    | { status: "in_progress" }
    | { status: "completed"; text: string; usage: Usage; toolCalls: readonly ToolCall[] }
    | { status: "failed"; text: string; error: { code: string; message: string } },
): Record<string, unknown> {
  const completed = state.status === "completed";
  return {
    id: s.id,
    object: "response",
    created_at: s.createdAt,
    ...(completed ? { completed_at: nowSeconds() } : {}),
    status: state.status,
    error: state.status === "failed" ? state.error : null,
    incomplete_details: null,
    instructions: s.instructions,
    max_output_tokens: s.maxOutputTokens,
    model: s.model,
    output: completed ? outputItems(s.msgId, state.text, state.toolCalls) : [],
    parallel_tool_calls: false,
    previous_response_id: s.previousResponseId,
    store: s.store,
    temperature: s.temperature,
    text: { format: s.textFormat ?? { type: "text" } },
    tool_choice: s.toolChoice ?? "auto",
    tools: toolsEcho(s.tools),
    top_p: s.topP,
    truncation: "disabled",
    // The spec's `usage` is an object or absent, never null.
    ...(completed ? { usage: usageOf(state.usage) } : {}),
    ...(s.user ? { user: s.user } : {}),
    metadata: s.metadata,
  };
}

const responseNotFound = (id: string, param: string | null, status: number) =>
  new ApiError(status, `Response with id '${id}' not found.`, { code: "response_not_found", param });

/** `POST /v1/responses` (+ `previous_response_id`), `GET`/`DELETE /v1/responses/{id}`. */
export function registerResponseRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/responses", {
    POST: async (c) => {
      const body = await readJson(c.req.raw, ctx.settings().max_body_bytes, responseRequestSchema);
      const principal = c.get("principal");
      const conv = fromInput(body.input, body.instructions);
      let previous: StoredResponse | undefined;
      if (body.previous_response_id) {
        previous = await ctx.responses.get(body.previous_response_id, principal.id);
        // Re-checked against the key's current allowlist: an agent taken off the key takes its responses along.
        if (previous && !seesAgent(c, previous.agentId)) previous = undefined;
        if (!previous) throw responseNotFound(body.previous_response_id, "previous_response_id", 400);
      }
      const { agent, source, plain } = await selectAgent(ctx, c, {
        model: body.model,
        previousAgent: previous?.agentId,
        user: body.user,
      });
      const clientTools = responseClientTools(ctx, agent, body.tools);
      // A response belongs to its agent: another agent cannot continue (and so read) it.
      if (previous && previous.agentId !== agent.id)
        throw responseNotFound(previous.id, "previous_response_id", 400);
      await inlineImages(conv, ctx.settings());

      const { plan, given: sessionHeader } = planSession(c, agent.id, {
        fallback: () => previous?.publicSessionId ?? newId("api-", 16),
      });
      // The chain carries the conversation; a session id alone continues the stored transcript.
      const history = previous
        ? [...previous.messages, ...conv.history]
        : sessionHeader
          ? undefined
          : conv.history;
      const store = body.store !== false && !plain;
      const before: ChatMessage[] = history ?? (store ? await storedHistory(ctx, plan.sessionId) : []);

      const handle = await startTurn(ctx, {
        principal: c.get("principal"),
        agentId: agent.id,
        source,
        plan,
        history,
        input: conv.input,
        extraSystem: conv.extraSystem,
        signal: c.req.raw.signal,
        persist: store,
        clientTools,
        plain,
        ...(body.stream ? {} : { stream: false }),
        generation: generationOf({
          ...body,
          maxTokens: body.max_output_tokens,
          format: body.text?.format,
          toolChoice: toolChoiceOf(body.tool_choice),
        }),
      });
      const headers = turnHeaders(agent.id, plan.publicId);
      const shape: ResponseShape = {
        id: newId("resp_"),
        createdAt: nowSeconds(),
        model: agent.id,
        msgId: newId("msg_"),
        previousResponseId: previous?.id ?? null,
        instructions: body.instructions ?? null,
        metadata: body.metadata ?? {},
        store,
        temperature: body.temperature ?? null,
        topP: body.top_p ?? null,
        maxOutputTokens: body.max_output_tokens ?? null,
        tools: clientTools,
        toolChoice: body.tool_choice ?? undefined,
        textFormat: body.text?.format ?? undefined,
        user: body.user ?? undefined,
      };
      const remember = async (
        text: string,
        toolCalls: readonly ToolCall[],
        bodyObj: Record<string, unknown>,
      ) => {
        if (!store) return;
        const reply: ChatMessage = { role: "assistant", content: text };
        if (toolCalls.length > 0)
          reply.toolCalls = toolCalls.map((t) => ({ id: t.toolCallId, name: t.toolName, input: t.input }));
        const kept = await ctx.responses.put({
          id: shape.id,
          owner: principal.id,
          agentId: agent.id,
          publicSessionId: plan.publicId,
          messages: [...before, ...conv.input, reply],
          inputItems: inputItemsOf(shape.id, [...conv.history, ...conv.input]),
          body: bodyObj,
        });
        if (!kept)
          ctx.logger.warn(
            { agent: agent.id, response: shape.id },
            "api: response not stored: larger than api_server.responses.max_bytes",
          );
      };

      if (!body.stream) {
        const outcome = await consume(handle);
        if (!outcome.ok) {
          const err = agentFailure(outcome.error);
          return jsonResponse(err.body(), err.status, { ...headers, ...err.headers });
        }
        const obj = responseObject(shape, { status: "completed", ...outcome });
        await remember(outcome.text, outcome.toolCalls, obj);
        return jsonResponse(obj, 200, headers);
      }

      const stream = sseStream(
        async (write) => {
          let seq = 0;
          const emit = (type: string, fields: Record<string, unknown>) =>
            write(sseFrame(JSON.stringify({ type, sequence_number: seq++, ...fields }), type));
          emit("response.created", { response: responseObject(shape, { status: "in_progress" }) });
          emit("response.in_progress", { response: responseObject(shape, { status: "in_progress" }) });
          // Output items open as they begin: the message at its first text, each client tool call as it comes.
          let nextIndex = 0;
          let at: { item_id: string; output_index: number; content_index: number } | undefined;
          const openMessage = () => {
            at = { item_id: shape.msgId, output_index: nextIndex++, content_index: 0 };
            emit("response.output_item.added", {
              output_index: at.output_index,
              item: messageItem(shape.msgId, "in_progress"),
            });
            emit("response.content_part.added", { ...at, part: outputText("") });
            return at;
          };
          const onEvent = (e: AgentEvent) => {
            if (e.type === "text-delta" && e.text) {
              emit("response.output_text.delta", { ...(at ?? openMessage()), delta: e.text, logprobs: [] });
            } else if (e.type === "tool-call" && e.client) {
              // Only the caller's tools are shown: the agent's own run here and stay server-side.
              const item = functionCallItem(e, "in_progress");
              const where = { item_id: item.id, output_index: nextIndex++ };
              emit("response.output_item.added", {
                output_index: where.output_index,
                item: { ...item, arguments: "" },
              });
              emit("response.function_call_arguments.delta", { ...where, delta: item.arguments });
              emit("response.function_call_arguments.done", {
                ...where,
                name: item.name,
                arguments: item.arguments,
              });
              emit("response.output_item.done", {
                output_index: where.output_index,
                item: { ...item, status: "completed" },
              });
            }
          };
          const outcome = await consume(handle, onEvent);
          if (!outcome.ok) {
            const err = agentFailure(outcome.error);
            const failed = responseObject(shape, {
              status: "failed",
              text: outcome.text,
              error: { code: responseErrorCode(err), message: err.message },
            });
            emit("response.failed", { response: failed });
            return;
          }
          const text = at || outcome.toolCalls.length === 0 ? (at ?? openMessage()) : undefined;
          if (text) {
            emit("response.output_text.done", { ...text, text: outcome.text, logprobs: [] });
            emit("response.content_part.done", { ...text, part: outputText(outcome.text) });
            emit("response.output_item.done", {
              output_index: text.output_index,
              item: messageItem(shape.msgId, "completed", outcome.text),
            });
          }
          const obj = responseObject(shape, { status: "completed", ...outcome });
          await remember(outcome.text, outcome.toolCalls, obj);
          emit("response.completed", { response: obj });
        },
        {
          onCancel: () => handle.abort("client disconnected"),
          onError: (err) =>
            ctx.logger.error(
              { err, agent: agent.id, session: plan.sessionId },
              "api: response stream failed",
            ),
        },
      );
      return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
    },
  });

  const lookup = async (c: ApiHonoContext) => {
    const id = c.req.param("id")!;
    const found = await ctx.responses.get(id, c.get("principal").id);
    if (!found || !seesAgent(c, found.agentId)) throw responseNotFound(id, null, 404);
    return found;
  };
  methods(v1, "/responses/:id/input_items", {
    GET: async (c) => {
      const found = await lookup(c);
      const q = c.req.query();
      const limit = Math.min(100, Math.max(1, Number(q.limit) || 20));
      // Newest first by default, as OpenAI lists them.
      let items = [...(found.inputItems ?? [])];
      if (q.order !== "asc") items.reverse();
      if (q.after) {
        const i = items.findIndex((it) => it.id === q.after);
        items = i >= 0 ? items.slice(i + 1) : [];
      }
      const page = items.slice(0, limit);
      return jsonResponse({
        object: "list",
        data: page,
        first_id: (page[0]?.id as string | undefined) ?? "",
        last_id: (page[page.length - 1]?.id as string | undefined) ?? "",
        has_more: items.length > page.length,
      });
    },
  });
  methods(v1, "/responses/:id", {
    GET: async (c) => {
      const found = await lookup(c);
      return jsonResponse(found.body, 200, turnHeaders(found.agentId, found.publicSessionId));
    },
    DELETE: async (c) => {
      const found = await lookup(c);
      await ctx.responses.delete(found.id);
      return jsonResponse({ id: found.id, object: "response", deleted: true });
    },
  });
}
