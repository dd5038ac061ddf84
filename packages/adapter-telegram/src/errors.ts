import { AuthError, PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { GrammyError, HttpError } from "grammy";

export const PLATFORM = "telegram";

/** Telegram rejected the message's formatting (`Bad Request: can't parse entities`): resend as plain text. */
export class EntityParseError extends PlatformError {
  override name = "EntityParseError";
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(PLATFORM, message, { retryable: false, status: 400, cause: opts.cause });
  }
}

/** The message is unchanged (`message is not modified`): an edit that did nothing, not a failure. */
export function isNotModified(err: unknown): boolean {
  return (
    err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description)
  );
}

/**
 * Map anything a grammY call throws to core's error hierarchy. Bot API errors carry `error_code`
 * (the HTTP status) and, for 429, `parameters.retry_after` in seconds; `HttpError` means the request
 * never got a Bot API answer (connection refused, reset, timeout, a non-JSON body from a proxy).
 * @see https://core.telegram.org/bots/api#making-requests
 */
export function toPlatformError(err: unknown): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof GrammyError) {
    const code = err.error_code;
    const message = `Telegram ${err.method}: ${err.description}`;
    if (code === 429) {
      const seconds = err.parameters?.retry_after ?? 1;
      return new RateLimitError(PLATFORM, seconds * 1000, { message, cause: err });
    }
    if (code === 401 || code === 403) return new AuthError(PLATFORM, message, { status: code, cause: err });
    if (code === 400 && /can't parse entities/i.test(err.description))
      return new EntityParseError(message, { cause: err });
    if (code >= 500) return new TransientError(PLATFORM, message, { status: code, cause: err });
    return new PlatformError(PLATFORM, message, { status: code, cause: err });
  }
  if (err instanceof HttpError) {
    return new TransientError(PLATFORM, `Telegram API unreachable: ${describe(err.error)}`, { cause: err });
  }
  return new TransientError(PLATFORM, `Telegram API call failed: ${describe(err)}`, { cause: err });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
