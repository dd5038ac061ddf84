import { webApi } from "@slack/bolt";
import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import { PLATFORM } from "./types.ts";

/** When Slack says "rate limited" without saying for how long. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/** `ok:false` errors that mean the token is wrong, revoked or lacks a scope: retrying cannot help. */
const AUTH_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "no_permission",
  "missing_scope",
  "not_allowed_token_type",
  "team_access_not_granted",
  "ekm_access_denied",
]);

/** `ok:false` errors Slack documents as temporary on its side. */
const TRANSIENT_ERRORS = new Set(["internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

/**
 * Map anything a Web API call throws to core's error hierarchy. The WebClient runs with
 * `rejectRateLimitedCalls`, so a 429 arrives as `WebAPIRateLimitedError` carrying Retry-After in
 * seconds; other failures are `ok:false` bodies (`WebAPIPlatformError`), non-200 statuses
 * (`WebAPIHTTPError`) or no answer at all (`WebAPIRequestError`).
 * @see https://docs.slack.dev/apis/web-api/#errors
 */
export function toPlatformError(err: unknown, method = "Web API"): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof webApi.WebAPIRateLimitedError) {
    return new RateLimitError(PLATFORM, err.retryAfter * 1000, {
      message: `Slack ${method}: rate limited, retry after ${err.retryAfter} s`,
      cause: err,
    });
  }
  if (err instanceof webApi.WebAPIPlatformError) {
    const code = String(err.data.error ?? "unknown_error");
    const message = `Slack ${method}: ${code}`;
    if (code === "ratelimited" || code === "rate_limited") {
      const seconds = Number(
        (err.data.response_metadata as { retryAfter?: unknown } | undefined)?.retryAfter,
      );
      const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_RETRY_AFTER_MS;
      return new RateLimitError(PLATFORM, ms, { message, cause: err });
    }
    if (AUTH_ERRORS.has(code)) {
      const status = code === "missing_scope" || code === "no_permission" ? 403 : 401;
      return new AuthError(PLATFORM, `${message}: check bot_token (and the app's scopes)`, {
        status,
        cause: err,
      });
    }
    if (TRANSIENT_ERRORS.has(code)) return new TransientError(PLATFORM, message, { cause: err });
    return new PlatformError(PLATFORM, message, { cause: err });
  }
  if (err instanceof webApi.WebAPIHTTPError) {
    const retryAfter = Number(err.headers["retry-after"]);
    return classifyHttpStatus(PLATFORM, err.statusCode, `Slack ${method}: HTTP ${err.statusCode}`, {
      retryAfterMs:
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : DEFAULT_RETRY_AFTER_MS,
      cause: err,
    });
  }
  if (err instanceof webApi.WebAPIRequestError) {
    return new TransientError(PLATFORM, `Slack ${method}: unreachable: ${describe(err.original)}`, {
      cause: err,
    });
  }
  // A 429 without a usable Retry-After header surfaces as a plain Error from the WebClient.
  if (err instanceof Error && /retry header did not contain a valid timeout/i.test(err.message)) {
    return new RateLimitError(PLATFORM, DEFAULT_RETRY_AFTER_MS, {
      message: `Slack ${method}: rate limited`,
      cause: err,
    });
  }
  return new PlatformError(PLATFORM, `Slack ${method} failed: ${describe(err)}`, { cause: err });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
    return typeof code === "string" ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
