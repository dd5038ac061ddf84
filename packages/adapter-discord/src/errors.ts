import {
  AuthError,
  classifyHttpStatus,
  PlatformError,
  RateLimitError,
  TransientError,
} from "@switchboard/core";
import {
  DiscordAPIError,
  DiscordjsError,
  DiscordjsErrorCodes,
  RateLimitError as DiscordRateLimitError,
  HTTPError,
} from "discord.js";
import { PLATFORM } from "./types.ts";

/** The gateway closed the session with a code discord.js will not reconnect after. */
export class GatewayClosedError extends Error {
  override name = "GatewayClosedError";
  readonly code: number;
  constructor(code: number) {
    super(`discord gateway closed the session (code ${code})`);
    this.code = code;
  }
}

/** Close codes that need the user: 4004 bad token, 4014 privileged intent not enabled. */
const CLOSE_AUTH_FAILED = 4004;
const CLOSE_DISALLOWED_INTENTS = 4014;
const INTENTS_HELP =
  "the Message Content intent is not enabled: turn it on in the developer portal (Bot → Privileged Gateway Intents)";

/** Used when a 429 carries no usable Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * Map anything discord.js throws to core's error hierarchy: 429 → `RateLimitError`, 401/403 → `AuthError`,
 * 5xx and network failures → `TransientError`, other API errors → permanent `PlatformError`.
 * The REST client's `makeRequest` (`surfaceRateLimits`) throws on a 429, so it lands here instead of being slept away.
 */
export function toPlatformError(error: unknown, action = "request"): PlatformError {
  if (error instanceof PlatformError) return error;
  if (error instanceof GatewayClosedError) {
    if (error.code === CLOSE_AUTH_FAILED) {
      return new AuthError(
        PLATFORM,
        "discord gateway rejected the bot token (4004): check DISCORD_BOT_TOKEN",
        { cause: error },
      );
    }
    if (error.code === CLOSE_DISALLOWED_INTENTS) {
      return new AuthError(PLATFORM, `discord ${action} failed: ${INTENTS_HELP}`, {
        status: 403,
        cause: error,
      });
    }
    return new PlatformError(PLATFORM, error.message, { cause: error });
  }
  if (error instanceof DiscordRateLimitError) {
    const retryAfterMs = error.retryAfter > 0 ? Math.ceil(error.retryAfter) : DEFAULT_RETRY_AFTER_MS;
    const scope = error.global ? "global" : error.scope;
    return new RateLimitError(PLATFORM, retryAfterMs, {
      message: `discord ${action} rate limited (${scope}, ${error.method.toUpperCase()} ${error.route}): retry after ${retryAfterMs} ms`,
      cause: error,
    });
  }
  if (error instanceof DiscordAPIError) {
    if (error.status === 401) {
      return new AuthError(
        PLATFORM,
        `discord ${action} failed: the bot token was rejected (401): check DISCORD_BOT_TOKEN`,
        { status: 401, cause: error },
      );
    }
    return classifyHttpStatus(
      PLATFORM,
      error.status,
      `discord ${action} failed (${error.status}, code ${error.code}): ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof HTTPError) {
    return classifyHttpStatus(
      PLATFORM,
      error.status,
      `discord ${action} failed (${error.status}): ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof DiscordjsError) {
    if (error.code === DiscordjsErrorCodes.TokenInvalid) {
      return new AuthError(
        PLATFORM,
        "discord login failed: the bot token is invalid: check DISCORD_BOT_TOKEN",
        { cause: error },
      );
    }
    if (error.code === DiscordjsErrorCodes.DisallowedIntents) {
      return new AuthError(PLATFORM, `discord login failed: ${INTENTS_HELP}`, { status: 403, cause: error });
    }
    return new PlatformError(PLATFORM, `discord ${action} failed: ${error.message}`, { cause: error });
  }
  // fetch failures (ECONNREFUSED, resets) and request timeouts (AbortError) are worth retrying.
  const message = error instanceof Error ? error.message : String(error);
  return new TransientError(PLATFORM, `discord ${action} failed: ${message}`, { cause: error });
}
