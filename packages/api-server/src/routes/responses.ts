import type { AgentEvent, ChatMessage, Usage } from "@switchboard/core";
import type { Hono } from "hono";
import type { ApiContext, ApiEnv, ApiHonoContext } from "../context.ts";
import { fromInput } from "../convert.ts";
import { ApiError } from "../errors.ts";
import { HEADER, headerValue, jsonResponse, readJson, turnHeaders } from "../http.ts";
import { newId, nowSeconds } from "../ids.ts";
import type { StoredResponse } from "../response-store.ts";
import { responseRequestSchema } from "../schemas.ts";
import { selectAgent } from "../select.ts";
import { sessionFor } from "../session.ts";
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
}

const usageOf = (u: Usage) => ({
  input_tokens: u.inputTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: u.outputTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: u.inputTokens + u.outputTokens,
});

const messageItem = (msgId: string, status: "in_progress" | "completed", text?: string) => ({
  id: msgId,
  type: "message",
  status,
  role: "assistant",
  content: text === undefined ? [] : [{ type: "output_text", text, annotations: [] }],
});

/** The `response` object in a given state. */
function responseObject(
  s: ResponseShape,
  state:
    | { status: "in_progress" }
    | { status: "completed"; text: string; usage: Usage }
    | { status: "failed"; text: string; error: { code: string; message: string } },
): Record<string, unknown> {
  return {
    id: s.id,
    object: "response",
    created_at: s.createdAt,
    status: state.status,
    error: state.status === "failed" ? state.error : null,
    incomplete_details: null,
    instructions: s.instructions,
    max_output_tokens: null,
    model: s.model,
    output: state.status === "completed" ? [messageItem(s.msgId, "completed", state.text)] : [],
    parallel_tool_calls: false,
    previous_response_id: s.previousResponseId,
    store: true,
    temperature: null,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: null,
    truncation: "disabled",
    usage: state.status === "completed" ? usageOf(state.usage) : null,
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
        previous = ctx.responses.get(body.previous_response_id, principal.id);
        if (!previous) throw responseNotFound(body.previous_response_id, "previous_response_id", 400);
      }
      const { agent, source } = await selectAgent(ctx, c, {
        model: body.model,
        previousAgent: previous?.agentId,
      });
      // A response belongs to its agent: another agent cannot continue (and so read) it.
      if (previous && previous.agentId !== agent.id)
        throw responseNotFound(previous.id, "previous_response_id", 400);

      const sessionHeader = headerValue(c.req.raw.headers, HEADER.sessionId);
      const plan = sessionFor(agent.id, sessionHeader ?? previous?.publicSessionId ?? newId("api-", 16));
      // The chain carries the conversation; a session id alone continues the stored transcript.
      const history = previous
        ? [...previous.messages, ...conv.history]
        : sessionHeader
          ? undefined
          : conv.history;
      const store = body.store !== false;
      const before: ChatMessage[] = history ?? (store ? storedHistory(ctx, plan.sessionId) : []);

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
      };
      const remember = (text: string, bodyObj: Record<string, unknown>) => {
        if (!store) return;
        ctx.responses.put({
          id: shape.id,
          owner: principal.id,
          agentId: agent.id,
          publicSessionId: plan.publicId,
          messages: [...before, ...conv.input, { role: "assistant", content: text }],
          body: bodyObj,
        });
      };

      if (!body.stream) {
        const outcome = await consume(handle);
        if (!outcome.ok) {
          const err = agentFailure(outcome.error);
          return jsonResponse(err.body(), err.status, headers);
        }
        const obj = responseObject(shape, { status: "completed", text: outcome.text, usage: outcome.usage });
        remember(outcome.text, obj);
        return jsonResponse(obj, 200, headers);
      }

      const stream = sseStream(
        async (write) => {
          let seq = 0;
          const emit = (type: string, fields: Record<string, unknown>) =>
            write(sseFrame(JSON.stringify({ type, sequence_number: seq++, ...fields }), type));
          const at = { item_id: shape.msgId, output_index: 0, content_index: 0 };
          emit("response.created", { response: responseObject(shape, { status: "in_progress" }) });
          emit("response.in_progress", { response: responseObject(shape, { status: "in_progress" }) });
          emit("response.output_item.added", {
            output_index: 0,
            item: messageItem(shape.msgId, "in_progress"),
          });
          emit("response.content_part.added", {
            ...at,
            part: { type: "output_text", text: "", annotations: [] },
          });
          const onEvent = (e: AgentEvent) => {
            if (e.type === "text-delta" && e.text)
              emit("response.output_text.delta", { ...at, delta: e.text, logprobs: [] });
          };
          const outcome = await consume(handle, onEvent);
          if (!outcome.ok) {
            const err = agentFailure(outcome.error);
            const failed = responseObject(shape, {
              status: "failed",
              text: outcome.text,
              error: { code: err.code ?? "server_error", message: err.message },
            });
            emit("response.failed", { response: failed });
            return;
          }
          emit("response.output_text.done", { ...at, text: outcome.text, logprobs: [] });
          emit("response.content_part.done", {
            ...at,
            part: { type: "output_text", text: outcome.text, annotations: [] },
          });
          emit("response.output_item.done", {
            output_index: 0,
            item: messageItem(shape.msgId, "completed", outcome.text),
          });
          const obj = responseObject(shape, {
            status: "completed",
            text: outcome.text,
            usage: outcome.usage,
          });
          remember(outcome.text, obj);
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

  const lookup = (c: ApiHonoContext) => {
    const id = c.req.param("id")!;
    const found = ctx.responses.get(id, c.get("principal").id);
    const pinned = c.get("pinned");
    if (!found || (pinned && found.agentId !== pinned.id)) throw responseNotFound(id, null, 404);
    return found;
  };
  methods(v1, "/responses/:id", {
    GET: (c) => {
      const found = lookup(c);
      return jsonResponse(found.body, 200, turnHeaders(found.agentId, found.publicSessionId));
    },
    DELETE: (c) => {
      const found = lookup(c);
      ctx.responses.delete(found.id);
      return jsonResponse({ id: found.id, object: "response", deleted: true });
    },
  });
}
