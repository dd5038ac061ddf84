import type { AgentEvent } from "@switchboard/core";
import { ApiError, type ApiErrorType } from "./errors.ts";

type ErrorEvent = Extract<AgentEvent, { type: "error" }>;

/** `x-should-retry: false`: the `openai` SDKs obey it; LangChain's defaults stop on the 4xx statuses used here. */
const NO_RETRY = { "x-should-retry": "false" };

interface FailureClass {
  status: number;
  type: ApiErrorType;
  /** A retry cannot fix it: the answer says so. */
  final: boolean;
}

/**
 * How each agent error code answers. The status is never the provider's own: a provider's 401 is a broken
 * server configuration, not the caller's bad key, so it answers 403 (not retried, not "your key is wrong").
 */
const CLASSES: Record<string, FailureClass> = {
  missing_credentials: { status: 403, type: "permission_error", final: true },
  provider_auth: { status: 403, type: "permission_error", final: true },
  model_not_found: { status: 404, type: "invalid_request_error", final: true },
  context_length_exceeded: { status: 400, type: "invalid_request_error", final: true },
  provider_rejected: { status: 400, type: "invalid_request_error", final: true },
  tool_name_conflict: { status: 400, type: "invalid_request_error", final: true },
  empty_input: { status: 400, type: "invalid_request_error", final: true },
  config: { status: 500, type: "server_error", final: true },
  rate_limited: { status: 429, type: "rate_limit_error", final: false },
  provider_unavailable: { status: 503, type: "server_error", final: false },
  provider_unreachable: { status: 502, type: "server_error", final: false },
  malformed_response: { status: 502, type: "server_error", final: false },
  timeout: { status: 504, type: "server_error", final: false },
  /** The turn ran past `agents.<id>.turn_timeout_s`. */
  turn_timeout: { status: 504, type: "server_error", final: false },
  /** The reply could not be committed to `state.db`: it was not delivered. */
  store_unavailable: { status: 503, type: "server_error", final: false },
  shutting_down: { status: 503, type: "server_error", final: false },
};

/** An agent failure as the API answers it: a status a client's retry logic reads right, `retry-after` when known. */
export function failureOf(error: ErrorEvent): ApiError {
  const known = error.code ? CLASSES[error.code] : undefined;
  const cls: FailureClass =
    known ??
    (error.status === 429 ? CLASSES.rate_limited! : { status: 500, type: "server_error", final: false });
  const headers: Record<string, string> = cls.final ? { ...NO_RETRY } : {};
  if (!cls.final && error.retryAfterS !== undefined) headers["retry-after"] = String(error.retryAfterS);
  return new ApiError(cls.status, error.message, {
    type: cls.type,
    code: error.code ?? (cls.status === 429 ? "rate_limit_exceeded" : "agent_error"),
    headers,
  });
}
