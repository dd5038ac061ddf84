import { readFileSync } from "node:fs";
import type { ApiServerConfig, Gateway, Logger } from "@switchboard/core";
import { ConfigError, isLoopback, silentLogger } from "@switchboard/core";
import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { type ApiContext, type ApiEnv, keyRingCache } from "./context.ts";
import { ApiError, errorBody, modelNotFound } from "./errors.ts";
import { checkSwitchboardHeaders, HEADER, jsonResponse } from "./http.ts";
import {
  IDEMPOTENCY_HEADER,
  IdempotencyCache,
  type IdempotencyOptions,
  REPLAYED_HEADER,
} from "./idempotency.ts";
import { ALL_IDENTITY_HEADERS } from "./identity.ts";
import { ResponseStore } from "./response-store.ts";
import { registerCapabilityRoutes } from "./routes/capabilities.ts";
import { registerChatRoutes } from "./routes/chat.ts";
import { registerCronRoutes } from "./routes/cron.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerModelRoutes } from "./routes/models.ts";
import { registerResponseRoutes } from "./routes/responses.ts";
import { registerRunRoutes } from "./routes/runs.ts";
import { RunRegistry, type RunRegistryOptions } from "./runs.ts";
import { usableAgent } from "./select.ts";

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
}

export interface ApiServer {
  app: Hono<ApiEnv>;
  /** The web-standard handler to mount on the gateway's listener. */
  fetch: (request: Request) => Promise<Response>;
  runs: RunRegistry;
  /** Abort in-flight runs and drop stored responses. */
  close(): void;
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

const EXPOSED_HEADERS = [HEADER.agent, HEADER.session, REPLAYED_HEADER];
const ALLOWED_HEADERS = ["authorization", "content-type", IDEMPOTENCY_HEADER, ...ALL_IDENTITY_HEADERS];

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
    runs: new RunRegistry({ logger, ...options.runs }),
    responses: new ResponseStore(),
    idempotency: new IdempotencyCache(options.idempotency),
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

  const origins = settings().cors_origins;
  if (origins && origins.length > 0) {
    app.use(
      "*",
      cors({
        origin: (origin) => {
          const allowed = settings().cors_origins ?? [];
          return allowed.includes("*") || allowed.includes(origin) ? origin : null;
        },
        allowHeaders: ALLOWED_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
        maxAge: 600,
      }),
    );
  }

  registerHealthRoutes(app, ctx);

  const guard: MiddlewareHandler<ApiEnv> = async (c, next) => {
    c.set("principal", ctx.keys().authenticate(c.req.header("authorization")));
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
  const idempotent = ctx.idempotency.middleware();
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
    fetch: async (request) => app.fetch(request),
    runs: ctx.runs,
    close() {
      ctx.runs.close();
      ctx.responses.clear();
      ctx.idempotency.clear();
    },
  };
}
