/** A config problem at one path (`routes[2].match.chat_idd`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Thrown by `loadConfig`: lists every problem found, each with its path and what to do. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: ConfigIssue[], file?: string, options?: ErrorOptions) {
    const where = file ?? "config";
    const lines = issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`);
    super(
      `${where} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
      options,
    );
    this.issues = issues;
    this.file = file;
  }
}

/** The one small error hierarchy every adapter maps its platform's HTTP errors into (see `classifyHttpStatus`). */
export class PlatformError extends Error {
  override name = "PlatformError";
  readonly platform: string;
  /** Whether core may retry the call that failed. */
  readonly retryable: boolean;
  readonly status: number | undefined;

  constructor(
    platform: string,
    message: string,
    opts: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.platform = platform;
    this.retryable = opts.retryable ?? false;
    this.status = opts.status;
  }
}

/** 429: retry after `retryAfterMs`. */
export class RateLimitError extends PlatformError {
  override name = "RateLimitError";
  readonly retryAfterMs: number;
  constructor(platform: string, retryAfterMs: number, opts: { message?: string; cause?: unknown } = {}) {
    super(platform, opts.message ?? `${platform} rate limit: retry after ${retryAfterMs} ms`, {
      retryable: true,
      status: 429,
      cause: opts.cause,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** 401/403: the token is wrong or lacks permission; never retried. */
export class AuthError extends PlatformError {
  override name = "AuthError";
  constructor(platform: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(platform, message, { retryable: false, status: opts.status ?? 401, cause: opts.cause });
  }
}

/** 5xx, timeouts, connection resets: retried with backoff. */
export class TransientError extends PlatformError {
  override name = "TransientError";
  constructor(platform: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(platform, message, { retryable: true, status: opts.status, cause: opts.cause });
  }
}

/**
 * Map an HTTP status from a platform API to the error hierarchy. `retryAfterMs` is used for 429.
 * Anything not 429/401/403/5xx is a permanent `PlatformError`.
 */
export function classifyHttpStatus(
  platform: string,
  status: number,
  message: string,
  opts: { retryAfterMs?: number; cause?: unknown } = {},
): PlatformError {
  if (status === 429)
    return new RateLimitError(platform, opts.retryAfterMs ?? 1000, { message, cause: opts.cause });
  if (status === 401 || status === 403)
    return new AuthError(platform, message, { status, cause: opts.cause });
  if (status >= 500 || status === 408)
    return new TransientError(platform, message, { status, cause: opts.cause });
  return new PlatformError(platform, message, { status, cause: opts.cause });
}

/** Errors in an agent turn that the user should see, e.g. a missing provider key. */
export class AgentError extends Error {
  override name = "AgentError";
  readonly code: string;
  /** What only the operator should read (file paths, internal URLs): logged, never shown to a user. */
  readonly detail: string | undefined;
  constructor(code: string, message: string, options?: ErrorOptions & { detail?: string }) {
    super(message, options);
    this.code = code;
    this.detail = options?.detail;
  }
}
