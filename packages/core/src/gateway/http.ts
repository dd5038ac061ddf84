import type { HttpHandler, HttpRoutes } from "../platform.ts";

interface Mounted {
  method: string;
  path: string;
  handler: HttpHandler;
  owner: string;
}

/** Routes adapters mount on the gateway's one HTTP listener (web-standard Request → Response). */
export class HttpRouter {
  readonly #routes = new Map<string, Mounted[]>();

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
      return new Response(
        JSON.stringify({
          error: {
            message: `method ${request.method} not allowed`,
            type: "invalid_request_error",
            param: null,
            code: "method_not_allowed",
          },
        }),
        {
          status: 405,
          headers: { "content-type": "application/json", allow: list.map((r) => r.method).join(", ") },
        },
      );
    }
    return route.handler(request);
  }
}
