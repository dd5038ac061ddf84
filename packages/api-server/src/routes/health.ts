import type { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.ts";
import { jsonResponse } from "../http.ts";
import { methods } from "./methods.ts";

/** `GET /health` (and `/v1/health`): liveness for load balancers and supervisors; no auth, no agent names. */
export function registerHealthRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  const health = () =>
    jsonResponse({
      status: "ok",
      version: ctx.version,
      agents: ctx.gateway.config.registry.size,
      uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
    });
  methods(app, "/health", { GET: health });
  methods(app, "/v1/health", { GET: health });
}
