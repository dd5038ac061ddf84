import { PlatformError, RateLimitError } from "../errors.ts";

export interface RetryOptions {
  /** Attempts in all, including the first (default 4). */
  attempts?: number;
  /** First backoff for 5xx/network errors (default 250 ms), doubled each time, with jitter. */
  baseDelayMs?: number;
  /** Longest wait honoured for a 429's retry-after (default 60 s). */
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whether core may retry an error thrown by an adapter: rate limits, 5xx and network errors. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PlatformError) return error.retryable;
  const code = (error as { code?: string })?.code;
  return (
    code === "ECONNRESET" || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "UND_ERR_SOCKET"
  );
}

/** Run `fn`, retrying 429 (after its retry-after) and 5xx/network errors (exponential backoff). */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delayMs =
        error instanceof RateLimitError
          ? Math.min(max, Math.max(0, error.retryAfterMs))
          : Math.min(max, base * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}
