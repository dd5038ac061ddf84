import {
  AgentError,
  type AgentEvent,
  type ChatMessage,
  type ClientTool,
  type GenerationOptions,
  type SessionSource,
  scrubForUser,
  type TurnHandle,
  TurnRefusedError,
  type TurnRequest,
  type Usage,
} from "@switchboard/core";
import { OPEN_PRINCIPAL_ID, type Principal } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { ApiError } from "./errors.ts";
import { failureOf } from "./failures.ts";
import type { SessionPlan } from "./session.ts";
import { reconcileTranscript } from "./transcript.ts";

export interface StartTurn {
  agentId: string;
  source: SessionSource;
  plan: SessionPlan;
  /** The body's history; `undefined` continues the stored session's own. */
  history: ChatMessage[] | undefined;
  input: ChatMessage[];
  extraSystem: string | undefined;
  /** The request's signal: a client that goes away aborts the turn. */
  signal?: AbortSignal;
  persist?: boolean;
  /** `wait`: calls needing approval wait for `POST /v1/runs/{id}/approve` (runs only); default deny. */
  approvals?: "wait" | "deny";
  /** `history` + `input` are the whole conversation: the store is brought in line with it (see `reconcileTranscript`). */
  reconcile?: boolean;
  clientTools?: ClientTool[];
  generation?: GenerationOptions | undefined;
  plain?: boolean | undefined;
  /** `false` for a non-streaming request: the model may answer in one piece (see `AgentTurn.stream`). */
  stream?: boolean;
  /** The caller's key: usage, budgets and rate limits per key. */
  principal?: Principal;
}

/** The calling key, for usage, budgets and rate limits per key; `undefined` for an open (keyless) setup. */
export function keyOf(principal: Principal): TurnRequest["key"] {
  if (principal.id === OPEN_PRINCIPAL_ID) return undefined;
  return { id: principal.id, ...(principal.budget ? { budget: principal.budget } : {}) };
}

/** Start a turn through the gateway, wired so an abort of `signal` aborts it. */
export async function startTurn(ctx: ApiContext, t: StartTurn): Promise<TurnHandle> {
  const request: TurnRequest = {
    agentId: t.agentId,
    source: { ...t.source, chatId: t.source.chatId ?? t.plan.publicId },
    sessionId: t.plan.sessionId,
    sessionKey: t.plan.sessionKey,
    input: t.input,
  };
  if (t.history) request.history = t.history;
  if (t.extraSystem) request.extraSystem = t.extraSystem;
  if (t.signal) request.signal = t.signal;
  if (t.persist === false) request.persist = false;
  if (t.approvals) request.approvals = t.approvals;
  if (t.clientTools?.length) request.clientTools = t.clientTools;
  if (t.generation) request.generation = t.generation;
  if (t.plain) request.plain = true;
  if (t.stream === false) request.stream = false;
  const key = t.principal && keyOf(t.principal);
  if (key) request.key = key;
  let handle: TurnHandle;
  try {
    if (t.reconcile && t.history && t.persist !== false) {
      const conversation = [...t.history, ...t.input];
      // On the session's lane: the previous turn's reply is stored by then, so the comparison sees it.
      request.prepare = (session, known) =>
        known.empty ? { input: conversation } : reconcileTranscript(ctx, session.id, conversation);
      request.persistInput = false;
    }
    handle = await ctx.gateway.turn(request);
  } catch (cause) {
    if (cause instanceof TurnRefusedError) throw refused(cause);
    ctx.logger.error(
      { err: cause, agent: t.agentId, session: t.plan.sessionId },
      "api: the gateway refused a turn",
    );
    if (cause instanceof AgentError && cause.code === "shutting_down")
      throw agentFailure({ type: "error", message: cause.message, code: cause.code });
    // The log above has the whole cause; the client gets it without server paths or URLs.
    const why = scrubForUser((cause as Error)?.message ?? String(cause));
    throw new ApiError(500, `The agent could not start: ${why}`, {
      code: "agent_error",
      cause,
    });
  }
  const signal = t.signal;
  if (signal) {
    if (signal.aborted) handle.abort("client disconnected");
    else signal.addEventListener("abort", () => handle.abort("client disconnected"), { once: true });
  }
  return handle;
}

export type TurnOutcome =
  | {
      ok: true;
      text: string;
      usage: Usage;
      finishReason: string;
      /** The caller's tools the model called: the turn paused on them (`finishReason` is `tool_calls`). */
      toolCalls: Array<{ toolCallId: string; toolName: string; input: unknown }>;
    }
  | { ok: false; error: Extract<AgentEvent, { type: "error" }>; text: string };

const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };

/** The OpenAI `finish_reason` of a runner finish reason (AI SDK spelling). */
export function finishReasonOf(
  reason: string | undefined,
): "stop" | "length" | "content_filter" | "tool_calls" {
  if (reason === "length") return "length";
  if (reason === "tool-calls" || reason === "tool_calls") return "tool_calls";
  if (reason === "content-filter" || reason === "content_filter") return "content_filter";
  return "stop";
}

/** Fold a stream of events into a final outcome, calling `onEvent` for each on the way. */
export async function consume(
  handle: TurnHandle,
  onEvent?: (event: AgentEvent) => void,
): Promise<TurnOutcome> {
  let text = "";
  try {
    for await (const event of handle.events) {
      onEvent?.(event);
      if (event.type === "text-delta") text += event.text;
      else if (event.type === "finish") {
        return {
          ok: true,
          text: event.text || text,
          usage: event.usage ?? ZERO_USAGE,
          // Agent tools ran server-side; only a pause on the caller's tools is a `tool_calls` finish.
          finishReason: event.toolCalls?.length
            ? "tool_calls"
            : finishReasonOf(event.finishReason === "tool-calls" ? "stop" : event.finishReason),
          toolCalls: event.toolCalls ?? [],
        };
      } else if (event.type === "error") return { ok: false, error: event, text };
    }
  } catch (cause) {
    // The runner contract says `run` never throws; if a gateway stream does anyway, it is still an answer.
    return { ok: false, error: { type: "error", message: (cause as Error)?.message ?? String(cause) }, text };
  }
  // A stream that ends without `finish` (an aborted turn): what arrived is the answer.
  return { ok: true, text, usage: ZERO_USAGE, finishReason: "stop", toolCalls: [] };
}

/** Answer 429 now when a budget is used up (a run that would only fail later is not started). */
export async function checkBudget(
  ctx: ApiContext,
  principal: Principal,
  agentId: string,
  source: SessionSource,
): Promise<void> {
  const key = keyOf(principal);
  try {
    await ctx.gateway.ops.checkBudget({
      agentId,
      platform: source.platform,
      userId: source.userId,
      ...(key ? { keyId: key.id, keyBudget: key.budget } : {}),
    });
  } catch (err) {
    if (err instanceof TurnRefusedError) throw refused(err);
    throw err;
  }
}

/** A budget (429 `budget_exceeded`, not worth retrying) or a rate limit (429 with `retry-after`). */
export function refused(err: TurnRefusedError): ApiError {
  const headers: Record<string, string> =
    err.kind === "budget"
      ? { "x-should-retry": "false" }
      : { "retry-after": String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000))) };
  return new ApiError(429, err.message, {
    type: err.kind === "budget" ? "insufficient_quota" : "rate_limit_error",
    code: err.code,
    headers,
    cause: err,
  });
}

/** An agent failure as an API error (never the provider's own status: a provider 401 is not the caller's bad key). */
export function agentFailure(error: Extract<AgentEvent, { type: "error" }>): ApiError {
  return failureOf(error);
}
