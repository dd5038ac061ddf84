import type { AgentEvent } from "@switchboard/core";

export type ErrorEvent = Extract<AgentEvent, { type: "error" }>;

/** How the failing provider is named in messages: `provider "local" (openai-compatible, model qwen3:8b)`. */
export interface ProviderLabel {
  name: string;
  kind: string;
  model: string;
  apiKeyEnv?: string;
}

interface ApiCallErrorLike {
  name?: string;
  message: string;
  statusCode?: number;
  url?: string;
  responseBody?: string;
  responseHeaders?: Record<string, string>;
  cause?: unknown;
  lastError?: unknown;
}

const MAX_DETAIL = 200;
/** How providers (OpenAI, vLLM, llama.cpp, Anthropic, OpenRouter) say the prompt does not fit. */
const CONTEXT_TOO_LONG =
  /context_length_exceeded|context length|context window|maximum context|too many tokens|prompt is too long/i;

function detail(err: ApiCallErrorLike): string {
  let text = err.message ?? "";
  if (err.responseBody) {
    try {
      const body = JSON.parse(err.responseBody) as {
        error?: { message?: string } | string;
        message?: string;
      };
      const m = typeof body.error === "string" ? body.error : (body.error?.message ?? body.message);
      if (m) text = m;
    } catch {
      // not JSON: keep the SDK's message
    }
  }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | undefined;
  return e?.name === "TimeoutError" || /timeout|timed out/i.test(e?.message ?? "");
}

/** An answer that came but could not be read: not JSON, the wrong shape, or empty. */
function isMalformed(err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name;
  return (
    name === "AI_JSONParseError" ||
    name === "AI_TypeValidationError" ||
    name === "AI_InvalidResponseDataError" ||
    name === "AI_EmptyResponseBodyError"
  );
}

/** Seconds of a `retry-after` header (delta-seconds or an HTTP date). */
function retryAfterOf(err: ApiCallErrorLike): number | undefined {
  const raw = err?.responseHeaders?.["retry-after"];
  if (!raw) return undefined;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Turn any failure of a model call into one user-facing `error` event: what happened and what to do. */
export function describeProviderError(error: unknown, label: ProviderLabel): ErrorEvent {
  let err = error as ApiCallErrorLike;
  // After retries the SDK wraps the last failure; the user wants to know what that was.
  if (err?.name === "AI_RetryError" && err.lastError) err = err.lastError as ApiCallErrorLike;
  const who = `Model provider "${label.name}" (${label.kind}, model ${label.model})`;
  // A whole (non-streamed) answer that cannot be read comes as a call error with the answer's 2xx status.
  const unreadable = typeof err?.statusCode === "number" && err.statusCode < 300 && isMalformed(err.cause);
  if (unreadable) err = err.cause as ApiCallErrorLike;
  const status = typeof err?.statusCode === "number" ? err.statusCode : undefined;

  if (status === 401 || status === 403) {
    const key = label.apiKeyEnv ? `check ${label.apiKeyEnv}` : "check the provider's API key";
    return {
      type: "error",
      code: "provider_auth",
      status,
      message: `${who} rejected the credentials (HTTP ${status}): ${key}.`,
    };
  }
  const retryAfterS = retryAfterOf(err);
  if (status === 429) {
    return {
      type: "error",
      code: "rate_limited",
      status,
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
      message: `${who} is rate limiting requests (HTTP 429); try again in a moment.`,
    };
  }
  if (status === 404) {
    return {
      type: "error",
      code: "model_not_found",
      status,
      message: `${who} answered 404: ${detail(err)}. Check the model name and base URL.`,
    };
  }
  if (status === 408 || (status !== undefined && status >= 500)) {
    return {
      type: "error",
      code: "provider_unavailable",
      status,
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
      message: `${who} failed with HTTP ${status}; try again later.`,
    };
  }
  if (
    (status === 400 || status === 413) &&
    CONTEXT_TOO_LONG.test(`${err.responseBody ?? ""} ${err.message}`)
  ) {
    return {
      type: "error",
      code: "context_length_exceeded",
      status,
      message: `${who} refused the conversation as too long for its context window: start a new session or send less.`,
    };
  }
  if (status !== undefined) {
    return {
      type: "error",
      code: "provider_rejected",
      status,
      message: `${who} rejected the request (HTTP ${status}): ${detail(err)}`,
    };
  }
  if (isTimeout(err)) {
    return { type: "error", code: "timeout", message: `${who} did not answer in time; try again later.` };
  }
  const name = err?.name ?? "";
  if (isMalformed(err)) {
    return {
      type: "error",
      code: "malformed_response",
      message: `${who} sent a malformed response; try again.`,
    };
  }
  if (name === "AI_DownloadError") {
    const url = (err as { url?: string }).url;
    return {
      type: "error",
      code: "download_failed",
      message: `An attachment of the message could not be downloaded${url ? ` (${new URL(url).origin})` : ""}, so ${label.name} was not called.`,
    };
  }
  if (name === "AI_APICallError" || networkCode(err)) {
    const code = networkCode(err);
    const where = err.url ? ` at ${new URL(err.url).origin}` : "";
    return {
      type: "error",
      code: "provider_unreachable",
      message: `${who} could not be reached${code ? ` (${code})` : ""}; the operator should check that it is running and its base_url.`,
      detail: `${who} could not be reached${where}${code ? ` (${code})` : ""}: ${err.message}`,
    };
  }
  const message = err instanceof Error ? err.message : String(error);
  return {
    type: "error",
    code: "model_error",
    message: `${who} failed; the gateway log has the detail.`,
    detail: `${who} failed: ${message}`,
  };
}
