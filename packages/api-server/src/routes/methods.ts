import type { Handler, Hono } from "hono";
import type { ApiEnv } from "../context.ts";
import { ApiError } from "../errors.ts";

type Method = "GET" | "POST" | "DELETE" | "PUT" | "PATCH";

/** Register `path` for the given methods; any other method on it answers 405 with an `Allow` header. */
export function methods(
  app: Hono<ApiEnv>,
  path: string,
  handlers: Partial<Record<Method, Handler<ApiEnv>>>,
): void {
  const allowed = Object.keys(handlers) as Method[];
  for (const m of allowed) app.on(m, path, handlers[m]!);
  const allow = allowed.includes("GET") ? [...allowed, "HEAD"] : allowed;
  app.all(path, (c) => {
    throw new ApiError(
      405,
      `Method ${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(" or ")}.`,
      {
        code: "method_not_allowed",
        headers: { allow: allow.join(", ") },
      },
    );
  });
}
