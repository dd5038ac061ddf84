import type { ApiServerConfig, ConsoleHandler, ConsoleHost } from "@switchboard/core";
import type { Hono } from "hono";
import { principalIdOfKey } from "./auth.ts";
import type { ApiContext, ApiEnv } from "./context.ts";
import { errorBody } from "./errors.ts";
import { jsonResponse } from "./http.ts";

export type { ConsoleHandler, ConsoleHost };

/** Builds the console; the gateway passes `(host) => import("@switchboard/console").then(...)`, so its code loads only when asked for. */
export type ConsoleLoader = (host: ConsoleHost) => Promise<ConsoleHandler>;

/** Mount `/console` (after the browser guard: its Host and Origin checks apply to the console too). */
export function mountConsole(
  app: Hono<ApiEnv>,
  ctx: ApiContext,
  fetchApi: (request: Request) => Promise<Response>,
  load: ConsoleLoader,
): { close(): void } {
  // Key identities by id, computed once per settings object (a reload swaps it).
  const byId = new WeakMap<ApiServerConfig, Map<string, ApiServerConfig["keys"][number]>>();
  const keyOf = (id: string) => {
    const settings = ctx.settings();
    let ids = byId.get(settings);
    if (!ids) {
      ids = new Map(settings.keys.map((k) => [principalIdOfKey(k.key), k]));
      byId.set(settings, ids);
    }
    return ids.get(id);
  };
  const host: ConsoleHost = {
    gateway: ctx.gateway,
    logger: ctx.logger,
    settings: ctx.settings,
    open: () => ctx.keys().open,
    identify(key) {
      try {
        const p = ctx.keys().authenticate(`Bearer ${key}`);
        return { id: p.id, ...(p.name ? { name: p.name } : {}), admin: p.admin === true };
      } catch {
        return undefined;
      }
    },
    isAdmin: (id) => keyOf(id)?.admin === true,
    api(request, id) {
      const headers = new Headers(request.headers);
      const key = keyOf(id);
      if (key) headers.set("authorization", `Bearer ${key.key}`);
      else headers.delete("authorization");
      return fetchApi(new Request(request, { headers }));
    },
  };
  let loading: Promise<ConsoleHandler> | undefined;
  let closed = false;
  const handler = async (request: Request, env: unknown): Promise<Response> => {
    if (!ctx.settings().console)
      return jsonResponse(
        errorBody(
          "The console is turned off (api_server.console: false).",
          "invalid_request_error",
          "unknown_url",
        ),
        404,
      );
    loading ??= load(host).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    const h = await loading;
    if (closed) h.close();
    return h.fetch(request, env);
  };
  app.all("/console", (c) => handler(c.req.raw, c.env));
  app.all("/console/*", (c) => handler(c.req.raw, c.env));
  return {
    close() {
      closed = true;
      loading?.then((h) => h.close()).catch(() => {});
    },
  };
}
