import { type FSWatcher, mkdirSync, watch } from "node:fs";
import type { AddressInfo } from "node:net";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { createAgentRunner, type SwitchboardAgentRunner } from "@switchboard/agent";
import { createApiServer, createGatewayMetrics, startTracing } from "@switchboard/api-server";
import {
  type AgentProfile,
  ConfigError,
  CronManager,
  CronScheduler,
  createGateway,
  foreignHostResponse,
  type GatewayConfig,
  type GatewayRuntime,
  hostPolicyOf,
  type Logger,
  type McpReadiness,
  type PlatformAdapter,
  type Plugin,
  Replica,
  readDotenv,
  registerConfigSecrets,
  requestHost,
  type SessionStore,
  secret,
  setRootAgent,
  useAgent,
} from "@switchboard/core";
import { loadGatewayConfig } from "./config.ts";
import { budgetChanges, configDiff } from "./config-diff.ts";
import { acquireHomeLock } from "./home-lock.ts";
import { startMetricsListener } from "./metrics-listener.ts";
import { openConfiguredStore } from "./open-store.ts";
import { configuredPlatforms, loadPlatformDefinitions } from "./platforms.ts";
import { VERSION } from "./version.ts";

export interface StartOptions {
  /** Config file; default `<home>/config.yaml` (the embedded default when missing). */
  configPath?: string;
  home?: string;
  env?: Record<string, string | undefined>;
  logger: Logger;
  /** Watch config.yaml and reload on change (default true). */
  watchConfig?: boolean;
}

export interface RunningGateway {
  gateway: GatewayRuntime;
  cron: CronManager;
  store: SessionStore;
  /** The agent runtime (its MCP connections). */
  runner: SwitchboardAgentRunner;
  /** The HTTP listener's base URL (`http://127.0.0.1:8642`), or undefined when the API server is off and no webhook platform needs it. */
  url: string | undefined;
  /** Re-read the config; on success swap it in, on failure keep the old one and log every error. */
  reload(): Promise<boolean>;
  /** Drain and stop everything; resolves when the process may exit. */
  stop(): Promise<void>;
}

type Server = import("node:http").Server;

/** How long responses still open at the shutdown deadline get to send their last bytes. */
const FLUSH_MS = 1000;

/** Import the config's `plugins:` (paths relative to the root home, or package names). */
export async function loadPlugins(config: GatewayConfig, logger?: Logger): Promise<Plugin[]> {
  const plugins: Plugin[] = [];
  for (const spec of config.plugins) {
    const target =
      spec.startsWith(".") || isAbsolute(spec) ? pathToFileURL(resolve(config.home, spec)).href : spec;
    const mod = (await import(target)) as { plugin?: Plugin; default?: Plugin };
    const plugin = mod.plugin ?? mod.default;
    if (!plugin?.name || typeof plugin.hooks !== "object") {
      throw new Error(`plugin ${spec} must export \`plugin\` = definePlugin({ name, hooks })`);
    }
    plugins.push(plugin);
    logger?.info({ plugin: plugin.name }, `plugin ${plugin.name} loaded from ${spec}`);
  }
  return plugins;
}

async function createAdapters(config: GatewayConfig): Promise<PlatformAdapter[]> {
  const names = configuredPlatforms(config.platforms);
  const defs = await loadPlatformDefinitions(names);
  const adapters: PlatformAdapter[] = [];
  for (const name of names) {
    for (const [account, cfg] of config.platformAccounts.get(name) ?? []) {
      adapters.push(defs[name]!.create(cfg, { account }));
    }
  }
  return adapters;
}

/** Teach the log redaction every secret of `config`, and of every agent's `.env`, before anything logs. */
function learnSecrets(config: GatewayConfig): void {
  registerConfigSecrets(config);
  for (const a of config.registry.list()) {
    readDotenv(join(a.home, ".env"));
    // A provider key from the process environment (main's OPENAI_API_KEY): `secret()` registers what it finds.
    if (a.provider.apiKeyEnv) useAgent(a, () => secret(a.provider.apiKeyEnv!));
  }
}

function accountFingerprints(config: GatewayConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of configuredPlatforms(config.platforms)) {
    for (const [account, cfg] of config.platformAccounts.get(name) ?? [])
      out.set(`${name}/${account}`, JSON.stringify(cfg));
  }
  return out;
}

/**
 * A request must arrive whole within `api_server.request_timeout_s` (a body trickled a byte at a time
 * would otherwise hold its socket for Node's default 5 minutes); checked every second, answered 408.
 */
function listenerTimeouts(config: GatewayConfig): import("node:http").ServerOptions {
  const requestTimeout = Math.round(config.api_server.request_timeout_s * 1000);
  return {
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 60_000),
    connectionsCheckingInterval: Math.min(1000, requestTimeout),
  };
}

/** Start the gateway: config, store, one HTTP listener (API + webhooks), adapters, live reload. */
export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { logger } = options;
  const loadOptions = {
    ...(options.configPath ? { path: options.configPath } : {}),
    ...(options.home ? { home: options.home } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
  let config = await loadGatewayConfig(loadOptions);
  learnSecrets(config);
  if ("level" in logger && !process.env.SWITCHBOARD_LOG_LEVEL)
    (logger as { level: string }).level = config.log_level;
  for (const w of config.warnings) logger.warn(w);
  const plugins = await loadPlugins(config, logger);
  const adapters = await createAdapters(config);

  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  // On PostgreSQL, N replicas share the homes and coordinate through the database's leases; on SQLite the
  // home is one process's.
  const replicated = config.store.kind === "postgres";
  const lock = replicated ? { release() {} } : acquireHomeLock(config.home);
  let store: SessionStore;
  try {
    store = await openConfiguredStore(config, { logger });
  } catch (err) {
    lock.release();
    throw err;
  }
  const replica = replicated
    ? new Replica({ leases: store.leases, leaseMs: config.store.lease_s * 1000, logger })
    : undefined;
  if (replica)
    logger.info({ replica: replica.id, store: store.location }, `replica ${replica.id} on ${store.location}`);
  setRootAgent(config.registry.main);
  const runner = createAgentRunner();
  const gateway = createGateway({
    config,
    store,
    runner,
    adapters,
    plugins,
    logger,
    stateDir: join(config.home, "state"),
    ...(replica ? { replica } : {}),
  });
  const cronManager = new CronManager({ config: () => gateway.config, router: () => gateway.router });
  gateway.setCron(cronManager);
  const scheduler = config.cron.enabled
    ? new CronScheduler({
        gateway,
        manager: cronManager,
        leases: store.leases,
        logger,
        ...(replica ? { holder: replica.id } : {}),
        maxConcurrency: config.cron.max_concurrency,
        graceMs: config.cron.grace_minutes * 60_000,
      })
    : undefined;
  gateway.ops.setCronStatus(() => scheduler?.status() ?? { enabled: false, running: false });
  gateway.ops.setMcpStatus(() => mcpReadiness(gateway.config.registry.list(), runner));
  // Facts from core become spans (when the operator registers an OpenTelemetry SDK) and Prometheus metrics.
  const stopTracing = startTracing();
  const metrics = config.metrics.enabled ? createGatewayMetrics(gateway) : undefined;
  const api = config.api_server.enabled
    ? createApiServer({
        gateway,
        logger,
        version: VERSION,
        metrics: metrics ?? false,
        // Loaded on the first request to /console, so the console costs start-up nothing.
        console: (host) => import("@switchboard/console").then((m) => m.createConsole(host)),
      })
    : undefined;
  const metricsListener =
    metrics && config.metrics.listen
      ? await startMetricsListener(config.metrics.listen, metrics, logger, listenerTimeouts(config))
      : undefined;

  let server: Server | undefined;
  let url: string | undefined;
  const fetch = async (request: Request, env?: unknown): Promise<Response> => {
    // Every route of the listener, webhooks included, answers only for the hosts it serves (DNS rebinding).
    const host = requestHost(request);
    if (!hostPolicyOf(gateway.config.api_server).allows(host)) return foreignHostResponse(host);
    const platformResponse = await gateway.http.fetch(request);
    if (platformResponse) return platformResponse;
    if (api) return api.fetch(request, env);
    return Response.json(
      {
        error: {
          message: "the API server is disabled (api_server.enabled: false)",
          type: "invalid_request_error",
          param: null,
          code: "not_found",
        },
      },
      { status: 404 },
    );
  };
  const needsListener = config.api_server.enabled || adapters.length > 0;
  if (needsListener) {
    const { host, port } = config.api_server;
    try {
      server = await new Promise<Server>((resolveServer, reject) => {
        const s = serve({ fetch, port, hostname: host, serverOptions: listenerTimeouts(config) }, () =>
          resolveServer(s),
        ) as Server;
        s.once("error", (err: NodeJS.ErrnoException) => {
          reject(
            err.code === "EADDRINUSE"
              ? new Error(
                  `port ${port} on ${host} is in use: stop the other process or set api_server.port`,
                  {
                    cause: err,
                  },
                )
              : err,
          );
        });
      });
    } catch (err) {
      stopTracing();
      await metricsListener?.close();
      await store.close();
      lock.release();
      throw err;
    }
    const addr = server.address() as AddressInfo;
    url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
    logger.info({ url }, `listening on ${url}`);
  }

  try {
    await gateway.start();
  } catch (err) {
    await gateway.stop({ timeoutMs: 1000 }).catch(() => {});
    server?.close();
    stopTracing();
    await metricsListener?.close();
    await store.close();
    lock.release();
    throw err;
  }
  scheduler?.start();

  let reloading = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(async () => {
      let next: GatewayConfig;
      try {
        next = await loadGatewayConfig(loadOptions);
      } catch (err) {
        if (err instanceof ConfigError) {
          logger.error(
            { issues: err.issues },
            `config reload rejected; still running on the previous config:\n${err.message}`,
          );
        } else logger.error({ err }, "config reload failed; still running on the previous config");
        return false;
      }
      learnSecrets(next);
      const before = accountFingerprints(config);
      const after = accountFingerprints(next);
      const defs = await loadPlatformDefinitions(configuredPlatforms(next.platforms));
      gateway.reconfigure(next);
      setRootAgent(next.registry.main);
      for (const [key, fp] of before) {
        if (after.get(key) !== fp) {
          const [platform, account] = key.split("/") as [string, string];
          await gateway.removeAdapter(platform, account);
          logger.info(
            { platform, account },
            `${platform} account "${account}" disconnected (config changed)`,
          );
        }
      }
      for (const [key, fp] of after) {
        if (before.get(key) !== fp) {
          const [platform, account] = key.split("/") as [string, string];
          await gateway.addAdapter(
            defs[platform]!.create(next.platformAccounts.get(platform)!.get(account), { account }),
          );
        }
      }
      for (const w of next.warnings) logger.warn(w);
      const diff = configDiff(config, next);
      await gateway.ops.audit({
        actor: "config",
        action: "config.reload",
        target: next.configPath ?? "",
        detail: diff,
      });
      const budgets = budgetChanges(config, next);
      if (budgets.length > 0)
        await gateway.ops.audit({ actor: "config", action: "budget.change", detail: { paths: budgets } });
      if (
        next.api_server.port !== config.api_server.port ||
        next.api_server.host !== config.api_server.host
      ) {
        logger.warn("api_server.host/port changes take effect on restart");
      }
      if (JSON.stringify(next.store) !== JSON.stringify(config.store)) {
        logger.warn(`store changes take effect on restart (this process keeps ${store.location})`);
      }
      config = next;
      logger.info(
        { agents: next.registry.ids() },
        `config reloaded: ${next.registry.size} agents, ${next.routes.length} routes`,
      );
      return true;
    });
    return reloading;
  };

  let watcher: FSWatcher | undefined;
  if ((options.watchConfig ?? true) && config.configPath) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // Watch the directory: editors replace files by rename, which a file watch misses.
      const file = config.configPath;
      const base = file.slice(file.lastIndexOf("/") + 1);
      watcher = watch(file.slice(0, file.lastIndexOf("/")) || ".", (_event, name) => {
        if (name !== base) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), 150);
      });
      watcher.unref();
    } catch (err) {
      logger.warn({ err }, "cannot watch the config file; reload with SIGHUP");
    }
  }

  // "ready" only once edits to config.yaml are being watched: an edit made on seeing it is not missed.
  for (const a of config.registry.list()) {
    logger.info(
      { agent: a.id, model: `${a.provider.name}${a.model.name ? `/${a.model.name}` : ""}`, home: a.home },
      `agent ${a.id} ready`,
    );
  }

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      watcher?.close();
      scheduler?.stop();
      const timeoutMs = config.shutdown_timeout_s * 1000;
      logger.info({ timeoutMs }, "shutting down: draining turns");
      const deadline = Date.now() + timeoutMs;
      // Stop accepting; idle keep-alive connections close now, active requests finish their responses.
      const closed = server ? new Promise<void>((r) => server!.close(() => r())) : Promise.resolve();
      await gateway.stop({ timeoutMs });
      // Every agent's MCP server processes end with the gateway.
      await runner.close().catch((err: unknown) => logger.error({ err }, "could not stop the MCP servers"));
      let timer: NodeJS.Timeout | undefined;
      // Past the deadline the aborted turns have just written their last event (an error chunk, `[DONE]`):
      // give the sockets a moment to carry it before they are closed.
      await Promise.race([
        closed,
        new Promise<void>((r) => (timer = setTimeout(r, Math.max(FLUSH_MS, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      // The runs' last events reach the store before it closes (else they read as `replica_lost` later).
      await api?.close?.();
      metrics?.close();
      stopTracing();
      await metricsListener?.close();
      server?.closeAllConnections();
      await store.close();
      lock.release();
      logger.info("stopped");
    })();
    return stopped;
  };

  return { gateway, cron: cronManager, store, runner, url, reload, stop };
}

/** Every agent's MCP servers for `/health/ready`: the live state of started ones, `not started` otherwise. */
function mcpReadiness(
  profiles: readonly AgentProfile[],
  runner: SwitchboardAgentRunner,
): Record<string, Record<string, McpReadiness>> {
  const out: Record<string, Record<string, McpReadiness>> = {};
  for (const profile of profiles) {
    const names = Object.keys(profile.mcp);
    if (names.length === 0) continue;
    const live = runner.mcp.status(profile.id);
    out[profile.id] = Object.fromEntries(
      names.map((name) => {
        const s = live[name];
        const entry: McpReadiness = { state: s?.state ?? "not started" };
        if (s?.tools) entry.tools = s.tools.length;
        if (s?.error) entry.error = s.error;
        return [name, entry];
      }),
    );
  }
  return out;
}
