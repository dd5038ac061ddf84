import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import { PLATFORM } from "./types.ts";

/** WeCom names no retry time for its frequency limits; wait this long before the next attempt. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/** `errcode`s of the frequency limits (API calls per app, concurrent calls). */
const RATE_LIMIT_CODES = new Set([45009, 45033, 45011]);
/** Credentials, token, IP allow-list and permission failures: a configuration problem, never retried. */
const AUTH_CODES = new Set([40001, 40013, 40014, 41001, 42001, 40056, 40082, 48002, 60011, 60020, 301002]);
/** `-1`: "system busy, try again later". */
const BUSY_CODES = new Set([-1]);

/** What went wrong in a WeCom API call: the HTTP status, or the `errcode` of a 200 answer. */
export interface WecomFailure {
  action: string;
  status?: number;
  errcode?: number;
  errmsg?: string;
  retryAfterMs?: number;
}

/**
 * Map a WeCom API failure to core's error hierarchy. WeCom answers HTTP 200 and puts the outcome in
 * `errcode`: 45009/45033 (frequency) → `RateLimitError`; 40001/40014/42001/60020… → `AuthError`; -1 (busy),
 * HTTP 5xx and network failures (anything thrown by `fetch`) → `TransientError`; other codes → permanent.
 * @see https://developer.work.weixin.qq.com/document/path/90313
 */
export function toPlatformError(failure: WecomFailure | unknown): PlatformError {
  if (failure instanceof PlatformError) return failure;
  if (isFailure(failure)) {
    const { action, errcode, errmsg } = failure;
    if (errcode !== undefined && errcode !== 0) {
      const what = `wecom ${action} failed (errcode ${errcode}: ${errmsg ?? "no message"})`;
      if (RATE_LIMIT_CODES.has(errcode)) {
        return new RateLimitError(PLATFORM, failure.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS, {
          message: `${what}: rate limited`,
          cause: failure,
        });
      }
      if (AUTH_CODES.has(errcode)) {
        return new AuthError(
          PLATFORM,
          `${what}: check corp_id, corp_secret, agent_id and the app's trusted IPs`,
          {
            status: errcode === 60020 || errcode === 48002 || errcode === 60011 ? 403 : 401,
            cause: failure,
          },
        );
      }
      if (BUSY_CODES.has(errcode)) return new TransientError(PLATFORM, what, { cause: failure });
      return new PlatformError(PLATFORM, what, { cause: failure });
    }
    const status = failure.status ?? 0;
    return classifyHttpStatus(PLATFORM, status, `wecom ${action} failed (HTTP ${status})`, {
      ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      cause: failure,
    });
  }
  // fetch rejects on connection failures and timeouts: worth retrying.
  const message = failure instanceof Error ? failure.message : String(failure);
  return new TransientError(PLATFORM, `wecom request failed: ${message}`, { cause: failure });
}

function isFailure(value: unknown): value is WecomFailure {
  return typeof value === "object" && value !== null && typeof (value as WecomFailure).action === "string";
}
