import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import { PLATFORM } from "./types.ts";

/** Used when a rate-limited answer carries no `x-ogw-ratelimit-reset`. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/** "Request trigger frequency limit" (answered with HTTP 400 or 429). */
export const RATE_LIMIT_CODES = new Set([99991400]);
/** The tenant access token is missing, invalid or expired: fetch a new one and retry once. */
export const TOKEN_CODES = new Set([99991661, 99991663, 99991664, 99991665, 99991668, 99991677]);
/** App credentials or permissions: a configuration problem, never retried. */
const PERMISSION_CODES = new Set([10003, 10014, 99991401, 99991672, 99991679, 230027]);
/** The platform says it failed internally: worth retrying. */
const INTERNAL_CODES = new Set([1500, 2200, 55001, 90217, 230020]);

/** A Feishu answer that did not succeed: `code` (and `msg`) from the body, the HTTP status if there was one. */
export interface FeishuFailure {
  action: string;
  status?: number;
  code?: number;
  msg?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

interface AxiosLike {
  message?: string;
  code?: string;
  response?: { status?: number; data?: unknown; headers?: Record<string, unknown> };
}

/**
 * Map a Feishu failure to core's error hierarchy: what the SDK throws (axios errors for non-2xx answers and
 * network failures) or a `{code, msg}` body it returned. 99991400 / HTTP 429 → `RateLimitError` (after
 * `x-ogw-ratelimit-reset`); token and permission codes, HTTP 401/403 → `AuthError`; HTTP 5xx, internal-error
 * codes and network failures → `TransientError`; anything else is permanent.
 * @see https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code
 */
export function toPlatformError(error: FeishuFailure | unknown, action = "request"): PlatformError {
  if (error instanceof PlatformError) return error;
  const failure = isFailure(error) ? error : fromThrown(error, action);
  if (!failure) {
    const message = error instanceof Error ? error.message : String(error);
    return new TransientError(PLATFORM, `feishu ${action} failed: ${message}`, { cause: error });
  }
  const { code, status } = failure;
  const what = `feishu ${failure.action} failed (${[status && `HTTP ${status}`, code !== undefined && `code ${code}`].filter(Boolean).join(", ")}${failure.msg ? `: ${failure.msg}` : ""})`;
  const cause = failure.cause ?? failure;
  if ((code !== undefined && RATE_LIMIT_CODES.has(code)) || status === 429) {
    return new RateLimitError(PLATFORM, failure.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS, {
      message: `${what}: rate limited`,
      cause,
    });
  }
  if (code !== undefined && (TOKEN_CODES.has(code) || PERMISSION_CODES.has(code))) {
    return new AuthError(PLATFORM, `${what}: check app_id, app_secret and the app's permissions`, {
      status: PERMISSION_CODES.has(code) ? 403 : 401,
      cause,
    });
  }
  if (code !== undefined && INTERNAL_CODES.has(code))
    return new TransientError(PLATFORM, what, { status, cause });
  if (status !== undefined) return classifyHttpStatus(PLATFORM, status, what, { cause });
  return new PlatformError(PLATFORM, what, { cause });
}

function isFailure(value: unknown): value is FeishuFailure {
  return typeof value === "object" && value !== null && typeof (value as FeishuFailure).action === "string";
}

/** The SDK's own error when the token endpoint answers without a token. */
const TOKEN_ERROR = /^failed to get (\w+), code: (-?\d+), msg: ([\s\S]*)$/;

/**
 * An HTTP error with an answer, or the SDK's token error → a failure; a network failure (connection refused,
 * timeout) → `undefined`.
 */
function fromThrown(error: unknown, action: string): FeishuFailure | undefined {
  const token = error instanceof Error ? TOKEN_ERROR.exec(error.message) : null;
  if (token)
    return { action: `${action} (${token[1]})`, code: Number(token[2]), msg: token[3]!, cause: error };
  const res = (error as AxiosLike | undefined)?.response;
  if (!res || typeof res.status !== "number") return undefined;
  const body = (typeof res.data === "object" && res.data !== null ? res.data : {}) as {
    code?: unknown;
    msg?: unknown;
  };
  const failure: FeishuFailure = { action, status: res.status, cause: error };
  if (typeof body.code === "number") failure.code = body.code;
  if (typeof body.msg === "string") failure.msg = body.msg;
  const reset = Number(res.headers?.["x-ogw-ratelimit-reset"] ?? res.headers?.["retry-after"]);
  if (Number.isFinite(reset) && reset > 0) failure.retryAfterMs = reset * 1000;
  return failure;
}
