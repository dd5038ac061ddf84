import type { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.ts";
import { jsonResponse } from "../http.ts";
import { methods } from "./methods.ts";

/**
 * `GET /health` (and `/v1/health`): for load balancers and supervisors; no auth, no agent names. 503 while
 * the session store cannot write, since every reply would then fail: the cause goes to the log, not the body.
 */
export function registerHealthRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  let failing: string | undefined;
  const health = async () => {
    const store = await ctx.gateway.store.checkWritable();
    if (!store.ok && failing !== store.reason)
      ctx.logger.error({ reason: store.reason }, "health: the session store cannot write");
    else if (store.ok && failing) ctx.logger.info("health: the session store writes again");
    failing = store.ok ? undefined : store.reason;
    return jsonResponse(
      {
        status: store.ok ? "ok" : "unavailable",
        version: ctx.version,
        agents: ctx.gateway.config.registry.size,
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
        store: store.ok ? "ok" : "cannot write",
      },
      store.ok ? 200 : 503,
    );
  };
  methods(app, "/health", { GET: health });
  methods(app, "/v1/health", { GET: health });
}
