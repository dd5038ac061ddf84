import type { ApiServerConfig } from "@switchboard/core";
import { foreignHostResponse, hostPolicyOf, requestHost } from "@switchboard/core";
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "./context.ts";
import { ApiError } from "./errors.ts";
import { HEADER, jsonResponse } from "./http.ts";
import { REPLAYED_HEADER } from "./idempotency.ts";

const EXPOSED_HEADERS = [HEADER.agent, HEADER.session, REPLAYED_HEADER].join(", ");
const ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS";
/** An `Access-Control-Request-Headers` value: a comma-separated list of header-name tokens. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
const PREFLIGHT_MAX_AGE_S = "600";

/**
 * Whether a page at `origin` may call the API: listed in `api_server.cors_origins` (`*` for any), or the
 * gateway's own origin (its `Host` already passed the host check, so it is not a rebinding page).
 */
export function originAllowed(settings: ApiServerConfig, origin: string, host: string | null): boolean {
  const listed = settings.cors_origins ?? [];
  if (listed.includes("*") || listed.includes(origin)) return true;
  return host !== null && (origin === `http://${host}` || origin === `https://${host}`);
}

const originRefused = (origin: string) =>
  new ApiError(
    403,
    `Requests from the web origin ${JSON.stringify(origin.slice(0, 200))} are not allowed. Add it to api_server.cors_origins to let that page use the API.`,
    { code: "origin_not_allowed" },
  );

/** The preflight answer: the browser may send what it asked to send (the `openai` SDK adds `x-stainless-*` headers). */
function preflight(origin: string, requested: string | null): Response {
  const headers: Record<string, string> = {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-max-age": PREFLIGHT_MAX_AGE_S,
    vary: "Origin, Access-Control-Request-Headers",
  };
  const list = requested?.trim();
  if (list && HEADER_LIST.test(list)) headers["access-control-allow-headers"] = list;
  return new Response(null, { status: 204, headers });
}

/**
 * The browser boundary, before anything else runs: a `Host` the listener does not serve answers 421 (DNS
 * rebinding), an `Origin` not allowed answers 403 (any other web page), preflights of allowed origins are
 * answered, and responses to allowed origins carry the CORS headers.
 */
export function browserGuard(settings: () => ApiServerConfig): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const s = settings();
    const headers = c.req.raw.headers;
    const host = requestHost(c.req.raw);
    if (!hostPolicyOf(s).allows(host)) return foreignHostResponse(host);
    const origin = headers.get("origin");
    if (origin === null) return next();
    if (!originAllowed(s, origin, host)) {
      const err = originRefused(origin);
      return jsonResponse(err.body(), err.status);
    }
    if (c.req.method === "OPTIONS" && headers.has("access-control-request-method"))
      return preflight(origin, headers.get("access-control-request-headers"));
    await next();
    const res = c.res.headers;
    res.set("access-control-allow-origin", origin);
    res.set("access-control-expose-headers", EXPOSED_HEADERS);
    res.append("vary", "Origin");
  };
}
