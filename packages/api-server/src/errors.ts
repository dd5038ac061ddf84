import type { z } from "zod";

/** The `type` of an OpenAI error body. */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "server_error";

/** An error answered with OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly type: ApiErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    message: string,
    options: {
      type?: ApiErrorType;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.type = options.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
  }

  body(): ErrorBody {
    return errorBody(this.message, this.type, this.code, this.param);
  }
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): ErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * The one answer for "no such agent" and "an agent this key may not use": identical status, body and
 * headers, so a key cannot probe which agents exist.
 */
export function modelNotFound(model: string | undefined): ApiError {
  const message =
    model === undefined || model === ""
      ? "No model was given and the default agent is not available to this API key."
      : `The model '${model}' does not exist or you do not have access to it.`;
  return new ApiError(404, message, { code: "model_not_found", param: "model" });
}

export function unauthorized(message: string): ApiError {
  return new ApiError(401, message, { type: "invalid_request_error", code: "invalid_api_key" });
}

/** `messages[0].content[1].type` */
export function formatParam(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/**
 * The issue worth reporting, with its full path. A union failure (`content: string | part[]`) is unwrapped
 * into the branch that got furthest, so the caller learns `messages[0].content[0].type`, not `messages[0].content`.
 */
function deepestIssue(issue: Issue, prefix: PropertyKey[] = []): { issue: Issue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // A branch whose only complaint is about the value's own type at its root did not get anywhere.
    const advanced = issue.errors.filter(
      (branch) =>
        !(branch.length === 1 && branch[0]!.path.length === 0 && branch[0]!.code === "invalid_type"),
    );
    const first = advanced.length === 1 ? advanced[0]![0] : undefined;
    if (first) return deepestIssue(first, path);
  }
  return { issue, path };
}

/** A zod failure as a 400 naming the offending field in `param`. */
export function fromZodError(error: z.ZodError): ApiError {
  const top = error.issues[0];
  if (!top) return new ApiError(400, "Invalid request body.", { code: "invalid_request" });
  const { issue, path } = deepestIssue(top);
  const param = formatParam(path);
  const missing = issue.code === "invalid_type" && /received undefined/.test(issue.message);
  if (missing) {
    return new ApiError(400, `Missing required parameter: '${param}'.`, {
      code: "missing_required_parameter",
      param,
    });
  }
  const message = param
    ? `Invalid value for '${param}': ${issue.message}`
    : `Invalid request body: ${issue.message}`;
  const code =
    issue.code === "invalid_value" || issue.code === "invalid_union"
      ? "invalid_value"
      : issue.code === "invalid_type"
        ? "invalid_type"
        : "invalid_value";
  return new ApiError(400, message, { code, param: param || null });
}
