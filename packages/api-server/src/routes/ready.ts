import type { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.ts";
import { jsonResponse } from "../http.ts";
import { requireLoopbackOrAdmin } from "./admin.ts";
import { methods } from "./methods.ts";

/** Adapter states in which an account delivers nothing. */
const DOWN = new Set(["failed", "reconnecting", "open", "starting"]);

/**
 * `GET /health/ready` (loopback or admin keys): every adapter account, the store (a real write, timed), cron,
 * and each agent's MCP servers (informational: a failed MCP server does not make the gateway unready). 503 when the gateway cannot serve: the store cannot write, or no adapter account can deliver.
 */
export function registerReadyRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(app, "/health/ready", {
    GET: async (c) => {
      requireLoopbackOrAdmin(ctx, c, "/health/ready");
      const ops = ctx.gateway.ops;
      const probe = await ctx.gateway.store.probe();
      const adapters = ops.adapters().map((a) => ({
        platform: a.platform,
        account: a.account,
        state: a.state,
        ...(a.reason ? { reason: a.reason } : {}),
        ...(a.retryAt ? { retry_at: a.retryAt } : {}),
        since: new Date(a.since).toISOString(),
      }));
      const down = adapters.filter((a) => DOWN.has(a.state));
      const cron = ops.cron();
      const cannotServe = !probe.writable || (adapters.length > 0 && down.length === adapters.length);
      const status = cannotServe ? "unavailable" : down.length > 0 ? "degraded" : "ready";
      return jsonResponse(
        {
          status,
          store: {
            writable: probe.writable,
            latency_ms: Math.round(probe.latencyMs * 1000) / 1000,
            ...(probe.error ? { error: probe.error } : {}),
          },
          adapters,
          cron: cron
            ? {
                enabled: cron.enabled,
                running: cron.running,
                ...(cron.holder ? { holder: cron.holder } : {}),
                ...(cron.lastTickAt ? { last_tick_at: new Date(cron.lastTickAt).toISOString() } : {}),
              }
            : { enabled: false, running: false },
          mcp: ops.mcp(),
        },
        cannotServe ? 503 : 200,
      );
    },
  });
}
