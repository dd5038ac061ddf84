#!/usr/bin/env node
import { resolve } from "node:path";
import {
  ConfigError,
  createRouter,
  defaultRootHome,
  type GatewayConfig,
  openSessionStore,
  type SessionSource,
} from "@switchboard/core";
import { Command, Option } from "commander";
import { loadGatewayConfig } from "./config.ts";
import { registerCronCommands } from "./cron-cli.ts";
import { addAgent, removeAgent, routesTo } from "./edit-config.ts";
import { registerImportCommands } from "./import-hermes/index.ts";
import { initHome } from "./init.ts";
import { createAppLogger } from "./logging.ts";
import { auditCli, registerOperateCommands } from "./operate-cli.ts";
import { colors, printJson, table } from "./output.ts";
import { MissingAdapterError } from "./platforms.ts";
import { startGateway } from "./run.ts";
import { VERSION } from "./version.ts";

export interface GlobalOptions {
  home?: string;
  config?: string;
  json?: boolean;
}

/** Exit code for invalid configuration. */
export const EXIT_CONFIG = 2;

function homeOf(opts: GlobalOptions): string {
  return resolve(opts.home ?? defaultRootHome());
}

function configFile(opts: GlobalOptions): string {
  return resolve(homeOf(opts), opts.config ?? "config.yaml");
}

/** Load the config or print every error and exit 2. */
export async function loadOrExit(opts: GlobalOptions): Promise<GatewayConfig> {
  try {
    return await loadGatewayConfig({ home: homeOf(opts), ...(opts.config ? { path: opts.config } : {}) });
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): never {
  const c = colors(process.stderr);
  if (err instanceof ConfigError) {
    process.stderr.write(`${c.red("config error")}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (err instanceof MissingAdapterError) {
    process.stderr.write(`${c.red("error")}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`${c.red("error")}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

const program = new Command()
  .name("switchboard")
  .description(
    "One gateway, many agents: route Telegram, Discord, Slack, Matrix, Feishu, WeCom and OpenAI API traffic to isolated agents.",
  )
  .version(VERSION)
  .option("--home <dir>", "the root home (default $SWITCHBOARD_HOME or ~/.switchboard)")
  .option("--config <file>", "the config file (default <home>/config.yaml)")
  .option("--json", "machine-readable output");

const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

program
  .command("run")
  .description("run the gateway")
  .option("--home <dir>")
  .option("--config <file>")
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    const logger = createAppLogger();
    let running: Awaited<ReturnType<typeof startGateway>>;
    try {
      running = await startGateway({
        home: homeOf(opts),
        ...(opts.config ? { configPath: opts.config } : {}),
        logger,
      });
    } catch (err) {
      fail(err);
    }
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(130);
      }
      logger.info({ signal }, `${signal} received`);
      void running.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGHUP", () => {
      logger.info("SIGHUP: reloading config");
      void running.reload();
    });
  });

program
  .command("init")
  .description("write a starter config.yaml, .env and SOUL.md")
  .option("--home <dir>")
  .action((_o, cmd: Command) => {
    const home = homeOf(globals(cmd));
    try {
      const files = initHome(home);
      process.stdout.write(
        `${files.map((f) => `created ${f}`).join("\n")}\nnext: switchboard config check --home ${home}\n`,
      );
    } catch (err) {
      fail(err);
    }
  });

const config = program.command("config").description("inspect the configuration");
config
  .command("check")
  .description("validate the config and print a summary (exit 2 when invalid)")
  .option("--home <dir>")
  .option("--config <file>")
  .option("--json")
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const summary = {
      file: cfg.configPath ?? "(embedded default)",
      agents: cfg.registry.ids(),
      routes: cfg.routes.length,
      platforms: Object.fromEntries([...cfg.platformAccounts].map(([p, accs]) => [p, [...accs.keys()]])),
      api_server: cfg.api_server.enabled ? `${cfg.api_server.host}:${cfg.api_server.port}` : "disabled",
      warnings: cfg.warnings,
    };
    if (opts.json) return printJson({ ok: true, ...summary });
    const c = colors();
    process.stdout.write(
      [
        `${c.green("ok")}: ${summary.file}`,
        `agents:    ${summary.agents.join(", ")}`,
        `routes:    ${summary.routes}`,
        `platforms: ${
          Object.entries(summary.platforms)
            .map(([p, a]) => `${p} (${a.join(", ")})`)
            .join(", ") || "none"
        }`,
        `api:       ${summary.api_server}`,
        ...summary.warnings.map((w) => `${c.yellow("warning")}: ${w}`),
      ].join("\n") + "\n",
    );
  });

const agent = program.command("agent").description("list, show, add and remove agents");
agent
  .command("list")
  .option("--json")
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const rows = cfg.registry.list().map((a) => ({
      id: a.id,
      model: `${a.provider.name}${a.model.name ? `/${a.model.name}` : ""}`,
      routes: routesTo(cfg, a.id).length,
      exposed: a.expose,
      home: a.home,
    }));
    if (opts.json) return printJson(rows);
    process.stdout.write(
      `${table(
        ["AGENT", "MODEL", "ROUTES", "EXPOSED", "HOME"],
        rows.map((r) => [r.id, r.model, r.routes, r.exposed ? "yes" : "no", r.home]),
      )}\n`,
    );
  });
agent
  .command("show <id>")
  .option("--json")
  .action(async (id: string, _o, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const a = cfg.registry.get(id);
    if (!a) fail(new Error(`no agent "${id}" (agents: ${cfg.registry.ids().join(", ")})`));
    const info = {
      id: a.id,
      name: a.name,
      home: a.home,
      model: a.model,
      provider: {
        name: a.provider.name,
        kind: a.provider.kind,
        base_url: a.provider.baseUrl,
        api_key_env: a.provider.apiKeyEnv,
      },
      toolsets: a.toolsets,
      expose: a.expose,
      secrets: a.secrets,
      routes: routesTo(cfg, a.id),
    };
    if (opts.json) return printJson(info);
    process.stdout.write(
      `${table(
        ["KEY", "VALUE"],
        Object.entries(info).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      )}\n`,
    );
  });
agent
  .command("add <id>")
  .option("--clone <from>", "copy SOUL.md, memories and skills from another agent")
  .option("--model <provider/name>", "the agent's model, e.g. openai/gpt-4.1-mini")
  .option("--with-secrets", "with --clone, also copy the agent's .env")
  .action(async (id: string, o: { clone?: string; model?: string; withSecrets?: boolean }, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    try {
      const home = addAgent(configFile(opts), cfg, id, o);
      auditCli(cfg, "agent.add", id, {
        ...(o.clone ? { clone: o.clone } : {}),
        ...(o.model ? { model: o.model } : {}),
      });
      process.stdout.write(
        `added agent ${id} (home ${home}); a running gateway picks it up without restart\n`,
      );
    } catch (err) {
      fail(err);
    }
  });
agent
  .command("remove <id>")
  .option("--force", "also remove the routes that point at it")
  .option("--purge", "also delete the agent's home directory")
  .action(async (id: string, o: { force?: boolean; purge?: boolean }, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    try {
      const removed = removeAgent(configFile(opts), cfg, id, o);
      auditCli(cfg, "agent.remove", id, { routes: removed, purge: o.purge === true });
      process.stdout.write(
        `removed agent ${id}${removed.length ? ` and ${removed.map((i) => `routes[${i}]`).join(", ")}` : ""}${o.purge ? " (home deleted)" : ""}\n`,
      );
    } catch (err) {
      const c = colors(process.stderr);
      process.stderr.write(`${c.red("error")}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  });

const route = program.command("route").description("inspect routing");
route
  .command("list")
  .option("--json")
  .action(async (_o, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    if (opts.json) return printJson(cfg.routes);
    const rows = cfg.routes.map((r, i) => [
      `routes[${i}]`,
      Object.entries(r.match)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
        .join(" "),
      r.agent,
    ]);
    rows.push(["default", "(no route matched)", cfg.default_agent]);
    process.stdout.write(`${table(["RULE", "MATCH", "AGENT"], rows)}\n`);
    for (const w of cfg.warnings) process.stdout.write(`${colors().yellow("warning")}: ${w}\n`);
  });
route
  .command("test")
  .description("show which agent a message would reach, and the rule that chose it")
  .requiredOption("--platform <p>")
  .option("--account <a>")
  .option("--chat-id <c>")
  .addOption(new Option("--chat-type <t>").choices(["dm", "group", "channel", "thread"]))
  .option("--thread-id <t>")
  .option("--topic-id <t>")
  .option("--parent-chat-id <c>")
  .option("--user-id <u>")
  .option("--guild-id <g>")
  .option("--json")
  .action(async (o: Record<string, string | undefined>, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const source: SessionSource = {
      platform: o.platform!,
      chatType:
        (o.chatType as SessionSource["chatType"]) ?? (o.threadId ? "thread" : o.chatId ? "group" : "dm"),
      ...(o.account ? { account: o.account } : {}),
      ...(o.chatId ? { chatId: o.chatId } : {}),
      ...(o.threadId ? { threadId: o.threadId } : {}),
      ...(o.topicId ? { topicId: o.topicId } : {}),
      ...(o.parentChatId ? { parentChatId: o.parentChatId } : {}),
      ...(o.userId ? { userId: o.userId } : {}),
      ...(o.guildId ? { guildId: o.guildId } : {}),
    };
    const router = createRouter(cfg);
    const r = router.match(source);
    const rule = r.by === "route" ? `routes[${r.route}]` : `default_agent (${cfg.default_agent})`;
    if (opts.json) return printJson({ agent: r.agentId, by: r.by, route: r.route ?? null, rule });
    const match =
      r.route !== undefined
        ? ` — match ${Object.entries(cfg.routes[r.route]!.match)
            .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
            .join(" ")}`
        : "";
    process.stdout.write(`agent: ${r.agentId}\nrule:  ${rule}${match}\n`);
  });

const sessions = program.command("sessions").description("browse stored sessions");
function withStore<T>(cfg: GatewayConfig, fn: (store: ReturnType<typeof openSessionStore>) => T): T {
  const store = openSessionStore(resolve(cfg.home, "state.db"));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
sessions
  .command("list")
  .option("--agent <id>")
  .option("--limit <n>", "how many", "50")
  .option("--json")
  .action(async (o: { agent?: string; limit: string }, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const rows = withStore(cfg, (s) =>
      s.list({ ...(o.agent ? { agentId: o.agent } : {}), limit: Number(o.limit), includeEnded: true }),
    );
    if (opts.json) return printJson(rows);
    process.stdout.write(
      `${table(
        ["SESSION", "AGENT", "KEY", "MESSAGES", "UPDATED"],
        rows.map((r) => [r.id, r.agentId, r.sessionKey, r.messageCount, new Date(r.updatedAt).toISOString()]),
      )}\n`,
    );
  });
sessions
  .command("show <id>")
  .option("--json")
  .action(async (id: string, _o, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const out = withStore(cfg, (s) => ({ session: s.get(id), messages: s.history(id, 1000) }));
    if (!out.session) fail(new Error(`no session "${id}"`));
    if (opts.json) return printJson(out);
    const c = colors();
    process.stdout.write(
      `${c.bold(out.session.id)} agent=${out.session.agentId} key=${out.session.sessionKey}\n`,
    );
    for (const m of out.messages) process.stdout.write(`${c.cyan(m.role.padEnd(9))} ${m.content}\n`);
  });
sessions
  .command("search <text>")
  .option("--agent <id>")
  .option("--json")
  .action(async (text: string, o: { agent?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    const hits = withStore(cfg, (s) =>
      s.search(text, { ...(o.agent ? { agentId: o.agent } : {}), limit: 50 }),
    );
    if (opts.json) return printJson(hits);
    process.stdout.write(
      `${table(
        ["SESSION", "AGENT", "ROLE", "MATCH"],
        hits.map((h) => [h.sessionId, h.agentId, h.role, h.snippet]),
      )}\n`,
    );
  });

registerCronCommands(program, { loadOrExit, globals, fail });
registerImportCommands(program, { globals, fail });
registerOperateCommands(program, { loadOrExit, globals, fail });

await program.parseAsync(process.argv);
