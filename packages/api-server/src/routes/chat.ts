import type { AgentEvent, Usage } from "@switchboard/core";
import type { Hono } from "hono";
import { chatClientTools, toolChoiceOf, wireToolCall } from "../client-tools.ts";
import type { ApiContext, ApiEnv } from "../context.ts";
import { fromChatMessages } from "../convert.ts";
import { generationOf } from "../generation.ts";
import { jsonResponse, readJson, turnHeaders } from "../http.ts";
import { newId, nowSeconds } from "../ids.ts";
import { inlineImages } from "../images.ts";
import { chatCompletionRequestSchema } from "../schemas.ts";
import { selectAgent } from "../select.ts";
import { derivedSessionId, planSession } from "../session.ts";
import { SSE_HEADERS, sseFrame, sseStream } from "../sse.ts";
import { agentFailure, consume, finishReasonOf, startTurn } from "../turn.ts";
import { methods } from "./methods.ts";

const usageOf = (u: Usage) => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
});

/** `POST /v1/chat/completions`: the agent answers a Chat Completions request, as JSON or as `chat.completion.chunk` SSE. */
export function registerChatRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/chat/completions", {
    POST: async (c) => {
      const body = await readJson(c.req.raw, ctx.settings().max_body_bytes, chatCompletionRequestSchema);
      const conv = fromChatMessages(body.messages);
      const { agent, source, plain } = await selectAgent(ctx, c, { model: body.model, user: body.user });
      await inlineImages(conv, ctx.settings());
      const clientTools = chatClientTools(ctx, agent, body.tools);
      const principalId = c.get("principal").id;
      const opening = [...conv.history, ...conv.input];
      const { plan, given: sessionHeader } = planSession(c, agent.id, {
        fallback: () => derivedSessionId(agent.id, principalId, source, conv.extraSystem, opening),
      });
      // A session id alone continues the stored transcript; a body with history is the truth (LibreChat sends
      // both: its conversation id and the whole conversation), and the store follows it.
      const bodyIsTruth = !sessionHeader || conv.history.length > 0;
      const handle = await startTurn(ctx, {
        principal: c.get("principal"),
        agentId: agent.id,
        source,
        plan,
        history: bodyIsTruth ? conv.history : undefined,
        input: conv.input,
        extraSystem: conv.extraSystem,
        signal: c.req.raw.signal,
        reconcile: bodyIsTruth,
        clientTools,
        plain,
        ...(plain ? { persist: false } : {}),
        ...(body.stream ? {} : { stream: false }),
        generation: generationOf({
          ...body,
          maxTokens: body.max_completion_tokens ?? body.max_tokens,
          format: body.response_format,
          toolChoice: toolChoiceOf(body.tool_choice),
        }),
      });
      const headers = turnHeaders(agent.id, plan.publicId);
      const id = newId("chatcmpl-");
      const created = nowSeconds();

      if (!body.stream) {
        const outcome = await consume(handle);
        if (!outcome.ok) {
          const err = agentFailure(outcome.error);
          return jsonResponse(err.body(), err.status, { ...headers, ...err.headers });
        }
        const toolCalls = outcome.toolCalls.map(wireToolCall);
        return jsonResponse(
          {
            id,
            object: "chat.completion",
            created,
            model: agent.id,
            choices: [
              {
                index: 0,
                message: {
                  role: "assistant",
                  content: toolCalls.length > 0 && !outcome.text ? null : outcome.text,
                  refusal: null,
                  ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
                },
                logprobs: null,
                finish_reason: outcome.finishReason,
              },
            ],
            usage: usageOf(outcome.usage),
          },
          200,
          headers,
        );
      }

      const includeUsage = body.stream_options?.include_usage === true;
      // Every chunk shares this head; building frames by concatenation keeps the per-token cost small.
      const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(agent.id)},"choices":`;
      const tail = includeUsage ? `,"usage":null}` : "}";
      const chunk = (delta: string, finish: string | null) =>
        sseFrame(
          `${head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? "null" : `"${finish}"`}}]${tail}`,
        );

      const stream = sseStream(
        async (write) => {
          write(chunk(`{"role":"assistant","content":""}`, null));
          let callIndex = 0;
          const onEvent = (e: AgentEvent) => {
            if (e.type === "text-delta" && e.text)
              write(chunk(`{"content":${JSON.stringify(e.text)}}`, null));
            else if (e.type === "tool-call" && e.client) {
              // Only the caller's tools are shown: the agent's own run here and stay server-side.
              const call = { index: callIndex++, ...wireToolCall(e) };
              write(chunk(`{"tool_calls":[${JSON.stringify(call)}]}`, null));
            }
          };
          const outcome = await consume(handle, onEvent);
          if (outcome.ok) {
            write(chunk("{}", finishReasonOf(outcome.finishReason)));
            if (includeUsage) write(sseFrame(`${head}[],"usage":${JSON.stringify(usageOf(outcome.usage))}}`));
          } else {
            // An error chunk the OpenAI clients raise as an APIError, then the terminator they wait for.
            write(sseFrame(JSON.stringify(agentFailure(outcome.error).body())));
          }
          write("data: [DONE]\n\n");
        },
        {
          onCancel: () => handle.abort("client disconnected"),
          onError: (err) =>
            ctx.logger.error({ err, agent: agent.id, session: plan.sessionId }, "api: chat stream failed"),
        },
      );
      return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
    },
  });
}
