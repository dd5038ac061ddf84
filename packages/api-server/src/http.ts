import { readAtMost } from "@switchboard/core";
import type { z } from "zod";
import { ApiError, fromZodError } from "./errors.ts";

/** Routing and session headers a caller may send; each is validated before it is used. */
export const HEADER = {
  sessionId: "x-switchboard-session-id",
  sessionKey: "x-switchboard-session-key",
  chatId: "x-switchboard-chat-id",
  userId: "x-switchboard-user-id",
  threadId: "x-switchboard-thread-id",
  agent: "X-Switchboard-Agent",
  session: "X-Switchboard-Session-Id",
} as const;

export const MAX_HEADER_CHARS = 256;
// C0 controls (CR, LF, NUL, TAB…) and DEL: none belongs in an id, and CR/LF would split a header we echo.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const NON_ASCII = /[^\u0000-\u007f]/;

/** The headers whose values become ids, route inputs and echoed response headers (every alias of them too). */
const CHECKED_HEADERS = [
  HEADER.sessionId,
  HEADER.sessionKey,
  HEADER.chatId,
  HEADER.userId,
  HEADER.threadId,
  "x-hermes-session-id",
  "x-hermes-session-key",
  "x-hermes-chat-id",
  "x-hermes-user-id",
  "x-hermes-thread-id",
  "x-openwebui-chat-id",
  "x-openwebui-user-id",
] as const;

/** Reject identity header values that are too long or hold control characters (they become ids and echo back). */
export function checkSwitchboardHeaders(headers: Headers): void {
  for (const name of CHECKED_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    if (value.length > MAX_HEADER_CHARS) {
      throw new ApiError(400, `Header ${name} is longer than ${MAX_HEADER_CHARS} characters.`, {
        code: "invalid_header",
        param: name,
      });
    }
    if (CONTROL_CHARS.test(value)) {
      throw new ApiError(400, `Header ${name} contains control characters.`, {
        code: "invalid_header",
        param: name,
      });
    }
    // HTTP carries header bytes, not text: UTF-8 arrives as Latin-1 and would echo back double-encoded.
    if (NON_ASCII.test(value)) {
      throw new ApiError(400, `Header ${name} must be ASCII; percent-encode other characters.`, {
        code: "invalid_header",
        param: name,
      });
    }
  }
}

/** A trimmed header value; empty counts as absent. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers.get(name)?.trim();
  return v ? v : undefined;
}

const tooLarge = (max: number) =>
  new ApiError(413, `Request body is larger than the limit of ${max} bytes.`, { code: "request_too_large" });

/** Read the body, at most `max` bytes: a declared Content-Length over the cap fails before reading, a streamed body as soon as it passes it. */
export async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > max) throw tooLarge(max);
    // Node's HTTP parser holds the body to its declared length, so the whole-body read (the adapter's
    // fast path, no web stream) is bounded too.
    if (Number.isFinite(n)) return new Uint8Array(await request.arrayBuffer());
  }
  const body = request.body;
  if (!body) return new Uint8Array(0);
  const read = await readAtMost(body, max);
  if (!read) throw tooLarge(max);
  return read;
}

/** `application/json` or a `+json` type, any parameters (`; charset=utf-8`). */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * A JSON endpoint takes only a JSON content type: a `text/plain` or form POST is what a web page can send
 * without a CORS preflight, so refusing it keeps other pages from driving the API.
 */
export function requireJsonContentType(contentType: string | null): void {
  if (contentType && JSON_MEDIA_TYPE.test(contentType.trim())) return;
  throw new ApiError(
    415,
    `This endpoint takes a JSON body: send 'Content-Type: application/json'${contentType ? ` (got '${contentType.slice(0, 100)}')` : ""}.`,
    { code: "unsupported_media_type", param: null },
  );
}

const DECODER = new TextDecoder("utf-8", { fatal: false });

/** Read, parse and validate a JSON body: 413 over the cap, 400 for bad JSON, 400 naming the field for a schema violation. */
export async function readJson<S extends z.ZodType>(
  request: Request,
  max: number,
  schema: S,
): Promise<z.output<S>> {
  requireJsonContentType(request.headers.get("content-type"));
  const bytes = await readBody(request, max);
  let raw: unknown;
  try {
    raw = JSON.parse(DECODER.decode(bytes));
  } catch (cause) {
    throw new ApiError(400, `We could not parse the JSON body of your request: ${(cause as Error).message}`, {
      code: "invalid_json",
      cause,
    });
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ApiError(400, "The request body must be a JSON object.", { code: "invalid_json" });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/** A JSON response with extra headers (`X-Switchboard-Agent`, …). */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The response headers naming who answered and in which session. */
export function turnHeaders(agentId: string, publicSessionId: string): Record<string, string> {
  return { [HEADER.agent]: agentId, [HEADER.session]: publicSessionId };
}
