import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import { ConnectionError, HTTPError, MatrixError, safeGetRetryAfterMs } from "matrix-js-sdk";
import { PLATFORM } from "./types.ts";

const DEFAULT_RETRY_AFTER_MS = 1_000;
const AUTH_ERRCODES = new Set(["M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_USER_DEACTIVATED"]);

/**
 * Map anything the SDK throws to core's error hierarchy: `M_LIMIT_EXCEEDED`/429 → `RateLimitError`
 * (with the homeserver's `retry_after_ms` or `Retry-After`), token/permission errors → `AuthError`,
 * 5xx, timeouts and connection failures → `TransientError`, the rest → a permanent `PlatformError`.
 * `action` says what failed ("send to !room:hs").
 */
export function toPlatformError(err: unknown, action: string): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof HTTPError) {
    const status = err.httpStatus ?? 0;
    const errcode = err instanceof MatrixError ? err.errcode : undefined;
    const detail =
      err instanceof MatrixError ? `${errcode ?? status}: ${err.data.error ?? err.message}` : err.message;
    const message = `matrix ${action} failed (${detail})`;
    if (errcode === "M_LIMIT_EXCEEDED" || status === 429) {
      return new RateLimitError(PLATFORM, safeGetRetryAfterMs(err, DEFAULT_RETRY_AFTER_MS), {
        message,
        cause: err,
      });
    }
    if ((errcode && AUTH_ERRCODES.has(errcode)) || status === 401 || status === 403) {
      const hint =
        errcode === "M_FORBIDDEN"
          ? "the bot lacks permission (is it joined to the room?)"
          : "the access token was rejected: set a valid access_token or password";
      return new AuthError(PLATFORM, `${message}: ${hint}`, { status: status || 401, cause: err });
    }
    return classifyHttpStatus(PLATFORM, status, message, { cause: err });
  }
  if (err instanceof ConnectionError || isAbortLike(err)) {
    return new TransientError(PLATFORM, `matrix ${action} failed: ${describe(err)}`, { cause: err });
  }
  return new PlatformError(PLATFORM, `matrix ${action} failed: ${describe(err)}`, { cause: err });
}

function isAbortLike(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "AbortError" || name === "TimeoutError";
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return `${err.message}${cause}`;
  }
  return String(err);
}
