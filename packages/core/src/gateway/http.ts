import { readAtMost } from "../bytes.ts";
import type { HttpHandler, HttpRoutes } from "../platform.ts";

interface Mounted {
  method: string;
  path: string;
  handler: HttpHandler;
  owner: string;
}

/** `api_server.webhook_max_body_bytes` when unset: platform webhooks carry small JSON or XML events. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

function errorResponse(status: number, message: string, code: string, headers: Record<string, string> = {}) {
  return new Response(
    JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code } }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );
}

function tooLarge(limit: number): Response {
  return errorResponse(
    413,
    `The request body is larger than ${limit} bytes (api_server.webhook_max_body_bytes).`,
    "request_too_large",
    { connection: "close" },
  );
}

/**
 * The request with its body read into memory, or a 413 once the body passes `limit` bytes (declared by
 * `content-length` or counted as it arrives, so a chunked upload cannot get around it).
 */
async function bounded(request: Request, limit: number): Promise<Request | Response> {
  if (!request.body) return request;
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) {
    await request.body.cancel().catch(() => {});
    return tooLarge(limit);
  }
  const body = await readAtMost(request.body, limit);
  if (!body) return tooLarge(limit);
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
  });
}

/**
 * Routes adapters mount on the gateway's one HTTP listener (web-standard Request → Response). Every
 * body is capped here, once for every webhook platform.
 */
export class HttpRouter {
  readonly #routes = new Map<string, Mounted[]>();
  readonly #maxBodyBytes: () => number;

  constructor(options: { maxBodyBytes?: () => number } = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? (() => DEFAULT_WEBHOOK_MAX_BODY_BYTES);
  }

  /** A view that mounts routes on behalf of `owner` (so they can be removed with the adapter). */
  scoped(owner: string): HttpRoutes {
    return {
      route: (method, path, handler) => {
        const list = this.#routes.get(path) ?? [];
        if (list.some((r) => r.method === method.toUpperCase() && r.owner !== owner)) {
          throw new Error(
            `HTTP route ${method} ${path} is already mounted by ${list.find((r) => r.method === method)?.owner}`,
          );
        }
        const rest = list.filter((r) => !(r.method === method.toUpperCase() && r.owner === owner));
        rest.push({ method: method.toUpperCase(), path, handler, owner });
        this.#routes.set(path, rest);
      },
    };
  }

  unmount(owner: string): void {
    for (const [path, list] of this.#routes) {
      const rest = list.filter((r) => r.owner !== owner);
      if (rest.length) this.#routes.set(path, rest);
      else this.#routes.delete(path);
    }
  }

  /** Whether some route is mounted at this path. */
  has(path: string): boolean {
    return this.#routes.has(path);
  }

  /** Answer a request if a route is mounted at its path; `undefined` otherwise. */
  async fetch(request: Request): Promise<Response | undefined> {
    const { pathname } = new URL(request.url);
    const list = this.#routes.get(pathname);
    if (!list) return undefined;
    const route = list.find((r) => r.method === request.method || r.method === "*");
    if (!route) {
      return errorResponse(405, `method ${request.method} not allowed`, "method_not_allowed", {
        allow: list.map((r) => r.method).join(", "),
      });
    }
    const read = await bounded(request, this.#maxBodyBytes());
    return read instanceof Response ? read : route.handler(read);
  }
}
