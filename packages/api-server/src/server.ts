import { readFileSync } from "node:fs";
import type { ApiServerConfig, Gateway, Logger } from "@switchboard/core";
import { ConfigError, isLoopback, silentLogger } from "@switchboard/core";
import { Hono, type MiddlewareHandler } from "hono";
import { OPEN_PRINCIPAL_ID } from "./auth.ts";
import { type ConsoleLoader, mountConsole } from "./console-mount.ts";
import { type ApiContext, type ApiEnv, keyRingCache } from "./context.ts";
import { ApiError, errorBody, modelNotFound } from "./errors.ts";
import { checkSwitchboardHeaders, jsonResponse } from "./http.ts";
import { IdempotencyCache, type IdempotencyOptions } from "./idempotency.ts";
import { ResponseStore } from "./response-store.ts";
import { requireAdmin } from "./routes/admin.ts";
import { registerCapabilityRoutes } from "./routes/capabilities.ts";
import { registerChatRoutes } from "./routes/chat.ts";
import { registerCronRoutes } from "./routes/cron.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerModelRoutes } from "./routes/models.ts";
import { registerReadyRoutes } from "./routes/ready.ts";
import { registerResponseRoutes } from "./routes/responses.ts";
import { registerRunRoutes } from "./routes/runs.ts";
import { registerUsageRoutes } from "./routes/usage.ts";
import { RunRegistry, type RunRegistryOptions } from "./runs.ts";
import { browserGuard } from "./security.ts";
import { usableAgent } from "./select.ts";
import { createGatewayMetrics, type GatewayMetrics } from "./telemetry/metrics.ts";

const DAY_MS = 86_400_000;

export interface ApiServerOptions {
  gateway: Gateway;
  /** The `api_server` settings; default `gateway.config.api_server`, read per request so a reload applies. */
  config?: ApiServerConfig;
  logger?: Logger;
  /** Reported by `/health`; default this package's version. */
  version?: string;
  /** Limits of `/v1/runs`. */
  runs?: RunRegistryOptions;
  /** More route groups, mounted under `/v1` and `/agents/{id}/v1` after the built-in ones (the cron API). */
  routes?: readonly RouteGroup[];
  /** Bounds of the `Idempotency-Key` memory. */
  idempotency?: IdempotencyOptions;
  /** `GET /metrics` for admin keys: these metrics, or new ones when `metrics.enabled`; `false` for none here. */
  metrics?: GatewayMetrics | false;
  /** `/console` for admin keys, built on its first request (the gateway passes a dynamic import). */
  console?: ConsoleLoader;
}

export interface ApiServer {
  app: Hono<ApiEnv>;
  /** The web-standard handler to mount on the gateway's listener (`env`: the Node server's bindings, for the peer address). */
  fetch: (request: Request, env?: unknown) => Promise<Response>;
  runs: RunRegistry;
  /**
   * Abort in-flight runs (stored responses stay in `state.db`); resolves once their last events are stored
   * and the presence lease is released, so close the store after it.
   */
  close(): Promise<void>;
}

/** A route group added under both `/v1` and `/agents/{id}/v1` (cron routes will be one). */
export type RouteGroup = (v1: Hono<ApiEnv>, ctx: ApiContext) => void;

export const ROUTE_GROUPS: readonly RouteGroup[] = [
  registerModelRoutes,
  registerChatRoutes,
  registerResponseRoutes,
  registerRunRoutes,
  registerCronRoutes,
  registerCapabilityRoutes,
  registerUsageRoutes,
];

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** The OpenAI-compatible HTTP API over a gateway: agents as models (DESIGN §8). */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { gateway } = options;
  const logger = options.logger ?? silentLogger();
  const settings = options.config ? () => options.config! : () => gateway.config.api_server;
  const ctx: ApiContext = {
    gateway,
    settings,
    keys: keyRingCache(settings),
    logger,
    version: options.version ?? packageVersion(),
    startedAt: Date.now(),
    runs: new RunRegistry({
      logger,
      maxActivePerKey: () => settings().max_active_runs_per_key,
      // Runs in the store: readable, followable and stoppable from every replica on it.
      store: gateway.store,
      replica: gateway.replica,
      pollMs: () => settings().run_poll_ms,
      ...options.runs,
    }),
    responses: new ResponseStore(() => gateway.store.responses, settings),
    // Replicas share the keys through the store (a retry may reach another one); one process keeps them in memory.
    idempotency: new IdempotencyCache({
      ...(gateway.replica ? { shared: { table: gateway.store.idempotency, logger } } : {}),
      ...options.idempotency,
    }),
  };
  if (ctx.keys().open && !isLoopback(settings().host)) {
    // The config loader refuses this too; a `config` passed in directly must not get around it.
    throw new ConfigError([
      {
        path: "api_server.keys",
        message: `required when api_server.host (${settings().host}) is not loopback: add - { key: "\${SWITCHBOARD_API_KEY}", agents: "*" }`,
      },
    ]);
  }
  if (ctx.keys().open) {
    logger.warn(
      { host: settings().host },
      "api server: no api_server.keys configured, so the API is open to anyone who can reach it (allowed on loopback only)",
    );
  }

  if (!isLoopback(settings().host) && settings().allowed_hosts.length === 0) {
    logger.warn(
      { host: settings().host },
      "api server: api_server.allowed_hosts is empty, so only requests addressed to a loopback name or to the bound address are served (others get 421): list the names clients use",
    );
  }

  const app = new Hono<ApiEnv>();

  app.onError((err, c) => {
    if (err instanceof ApiError) return jsonResponse(err.body(), err.status, err.headers);
    logger.error({ err, path: c.req.path }, "api: unhandled error");
    return jsonResponse(
      errorBody("The server had an error while processing your request.", "server_error", "internal_error"),
      500,
    );
  });
  app.notFound((c) =>
    jsonResponse(
      errorBody(
        `Unknown request URL: ${c.req.method} ${c.req.path}.`,
        "invalid_request_error",
        "unknown_url",
      ),
      404,
    ),
  );

  app.use("*", browserGuard(settings));

  registerHealthRoutes(app, ctx);
  registerReadyRoutes(app, ctx);
  const consoleMount = options.console
    ? mountConsole(app, ctx, async (request) => app.fetch(request), options.console)
    : undefined;
  const ownMetrics = options.metrics === undefined && gateway.config.metrics.enabled;
  const metrics =
    options.metrics === false
      ? undefined
      : (options.metrics ?? (ownMetrics ? createGatewayMetrics(gateway) : undefined));
  if (metrics) {
    app.get("/metrics", async (c) => {
      requireAdmin(ctx, c, "/metrics");
      return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
    });
  }

  // API key use, once per key per day, in the audit log (the set of today's keys spares the store a write
  // per request; the day is formatted once a day, not once a request).
  let keysToday = new Set<string>();
  let day = "";
  let dayEnds = 0;
  const noteKeyUse = (id: string) => {
    if (id === OPEN_PRINCIPAL_ID) return;
    const now = Date.now();
    if (now >= dayEnds) {
      day = new Date(now).toISOString().slice(0, 10);
      dayEnds = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
      keysToday = new Set();
    }
    if (keysToday.has(id)) return;
    if (keysToday.size > 10_000) keysToday.clear();
    keysToday.add(id);
    gateway.ops.audit({ actor: id, action: "api_key.use", target: day, onceKey: `key-use:${id}:${day}` });
  };

  const guard: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const principal = ctx.keys().authenticate(c.req.header("authorization"));
    c.set("principal", principal);
    noteKeyUse(principal.id);
    checkSwitchboardHeaders(c.req.raw.headers);
    await next();
  };
  const pin: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const requested = c.req.param("agent") ?? "";
    const agent = usableAgent(ctx, c.get("principal"), requested);
    if (!agent) throw modelNotFound(requested);
    c.set("pinned", agent);
    await next();
  };
  const idempotent = ctx.idempotency.middleware(() => settings().max_body_bytes);
  // `/p/<agent>/v1/...` is the Hermes gateway's spelling of `/agents/<agent>/v1/...`.
  for (const prefix of ["/agents", "/p"]) {
    app.use(`${prefix}/*`, guard);
    app.use(`${prefix}/:agent/v1/*`, pin);
    app.use(`${prefix}/:agent/v1/*`, idempotent);
  }
  app.use("/v1/*", guard);
  app.use("/v1/*", idempotent);

  const v1 = new Hono<ApiEnv>();
  for (const group of [...ROUTE_GROUPS, ...(options.routes ?? [])]) group(v1, ctx);
  app.route("/v1", v1);
  app.route("/agents/:agent/v1", v1);
  app.route("/p/:agent/v1", v1);

  return {
    app,
    fetch: async (request, env) => app.fetch(request, env),
    runs: ctx.runs,
    async close() {
      if (ownMetrics) metrics?.close();
      consoleMount?.close();
      ctx.idempotency.clear();
      await ctx.runs.close();
    },
  };
}
