import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import { PERMANENT_CLOSE_CODES, PLATFORM } from "./types.ts";

/** Yuanbao names no retry time: wait this long before the next attempt. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/** sign-token's "busy, try again". */
export const SIGN_BUSY_CODE = 10099;

/** What went wrong talking to Yuanbao. */
export interface YuanbaoFailure {
  /** What was being done: `sign-token`, `auth-bind`, `send_group_message`, `connection`… */
  action: string;
  /** The HTTP status of sign-token, or `Head.status` of a WebSocket answer (HTTP-like: 429, 5xx). */
  status?: number;
  /** The business `code` of the answer (sign-token's body, `AuthBindRsp`, `SendMessageRsp`). */
  code?: number;
  message?: string;
  /** The WebSocket close code, when the server closed the connection. */
  closeCode?: number;
  /** No answer within the protocol's timeout. */
  timeout?: boolean;
  cause?: unknown;
}

/**
 * Map a Yuanbao failure to core's error hierarchy, in one place. Yuanbao publishes no error-code table, so
 * only what the protocol itself states is classified by code: sign-token `10099` is "busy" (transient), any
 * other sign-token or auth-bind refusal is about the credentials (`AuthError`), and the close codes
 * 4012/4013/4014/4018/4019/4021 are permanent. WebSocket answers are classified by `Head.status` the way HTTP
 * statuses are (429 → `RateLimitError`, 401/403 → `AuthError`, 5xx → `TransientError`); timeouts, a dropped
 * connection and network failures are transient; any other refusal is permanent.
 */
export function toPlatformError(failure: YuanbaoFailure | unknown): PlatformError {
  if (failure instanceof PlatformError) return failure;
  if (!isFailure(failure)) {
    const message = failure instanceof Error ? failure.message : String(failure);
    return new TransientError(PLATFORM, `yuanbao request failed: ${message}`, { cause: failure });
  }
  const f = failure;
  const detail = [
    f.status ? `status ${f.status}` : "",
    f.code !== undefined && f.code !== 0 ? `code ${f.code}` : "",
    f.closeCode !== undefined ? `close code ${f.closeCode}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const what = `yuanbao ${f.action} failed${detail ? ` (${detail})` : ""}${f.message ? `: ${f.message}` : ""}`;
  const cause = f.cause ?? f;

  if (f.closeCode !== undefined && PERMANENT_CLOSE_CODES.has(f.closeCode)) {
    return new PlatformError(
      PLATFORM,
      `${what}: Yuanbao closed the connection for good, so the adapter stopped and will not reconnect. Another gateway may hold this bot's connection, or the bot was disabled or its secret reset; fix that, then restart the gateway`,
      { retryable: false, cause },
    );
  }
  if (f.timeout || f.closeCode !== undefined)
    return new TransientError(PLATFORM, f.timeout ? `${what}: no answer in time` : what, { cause });
  if (f.action === "sign-token" && f.code === SIGN_BUSY_CODE)
    return new TransientError(PLATFORM, `${what}: Yuanbao is busy`, { cause });
  if (f.status === 429) {
    return new RateLimitError(PLATFORM, DEFAULT_RETRY_AFTER_MS, { message: `${what}: rate limited`, cause });
  }
  if (f.status !== undefined && f.status !== 0 && f.status !== 200) {
    return classifyHttpStatus(PLATFORM, f.status, what, { retryAfterMs: DEFAULT_RETRY_AFTER_MS, cause });
  }
  if ((f.action === "sign-token" || f.action === "auth-bind") && f.code !== undefined && f.code !== 0) {
    return new AuthError(PLATFORM, `${what}: check app_id and app_secret (and bot_id, if set)`, { cause });
  }
  return new PlatformError(PLATFORM, what, { cause });
}

function isFailure(value: unknown): value is YuanbaoFailure {
  return typeof value === "object" && value !== null && typeof (value as YuanbaoFailure).action === "string";
}
