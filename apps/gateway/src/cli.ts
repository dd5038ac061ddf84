#!/usr/bin/env node
import { resolve } from "node:path";
import {
  ConfigError,
  createRouter,
  defaultRootHome,
  type GatewayConfig,
  type SessionSource,
  secretValues,
} from "@switchboard/core";
import { Command, Option } from "commander";
import { summarizeAgent, summaryRows } from "./agent-summary.ts";
import { missingHomeError, providerKeyWarnings } from "./checks.ts";
import { loadGatewayConfig } from "./config.ts";
import { registerCronCommands } from "./cron-cli.ts";
import { type AddAgentOptions, addAgent, removeAgent, routesTo } from "./edit-config.ts";
import { registerImportCommands } from "./import-hermes/index.ts";
import { initHome } from "./init.ts";
import { commandPrefix, shellWord } from "./invocation.ts";
import { createAppLogger } from "./logging.ts";
import { mcpSummary, registerMcpCommands } from "./mcp-cli.ts";
import { auditCli, registerOperateCommands } from "./operate-cli.ts";
import { colors, printJson, table } from "./output.ts";
import { registerPairingCommands } from "./pairing-cli.ts";
import { exitWithParent } from "./parent-watch.ts";
import { MissingAdapterError } from "./platforms.ts";
import { loadPlugins, startGateway } from "./run.ts";
import { registerSessionCommands } from "./sessions-cli.ts";
import { registerStoreCommands } from "./store-cli.ts";
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
  const missing = missingHomeError(opts.home === undefined ? undefined : resolve(opts.home));
  if (missing) fail(missing);
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
  const message = secretValues.redact(err instanceof Error ? err.message : String(err));
  process.stderr.write(`${c.red("error")}: ${message}\n`);
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
    const missing = missingHomeError(opts.home === undefined ? undefined : resolve(opts.home));
    if (missing) fail(missing);
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
      logger.info({ signal }, signal.startsWith("SIG") ? `${signal} received` : `${signal}: shutting down`);
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
    // Ctrl-C reaches pnpm and the gateway together; pnpm exiting then is not a second signal.
    exitWithParent(() => {
      if (signals === 0) onSignal("the package-manager script that started the gateway exited");
    });
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
      const cmd = commandPrefix();
      const at = home === resolve(defaultRootHome()) ? "" : ` --home ${shellWord(home)}`;
      process.stdout.write(
        `${files.map((f) => `created ${f}`).join("\n")}\nnext:\n  ${cmd} config check${at}\n  ${cmd} run${at}\n`,
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
      warnings: [...cfg.warnings, ...providerKeyWarnings(cfg)],
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
      ...(Object.keys(a.mcp).length ? { mcp: mcpSummary(a) } : {}),
    };
    const summary = summarizeAgent(a);
    if (opts.json) return printJson({ ...info, ...summary });
    process.stdout.write(
      `${table(
        ["KEY", "VALUE"],
        [
          ...Object.entries(info).map(([k, v]): [string, string] => [
            k,
            typeof v === "string" ? v : JSON.stringify(v),
          ]),
          ...summaryRows(summary),
        ],
      )}\n`,
    );
  });
agent
  .command("add <id>")
  .option("--clone <from>", "copy SOUL.md, memories and skills from another agent")
  .option("--model <provider/name>", "the agent's model, e.g. openai/gpt-4.1-mini")
  .option("--with-secrets", "with --clone, also copy the agent's .env")
  .option("--force", "replace the entry of an agent that already exists (shows what it replaces)")
  .action(async (id: string, o: AddAgentOptions, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    try {
      const { home, replaced } = await addAgent(configFile(opts), cfg, id, o);
      if (replaced !== undefined) process.stdout.write(`replaced agents.${id}: ${replaced}\n`);
      await auditCli(cfg, "agent.add", id, {
        ...(o.clone ? { clone: o.clone } : {}),
        ...(o.model ? { model: o.model } : {}),
        ...(replaced !== undefined ? { replaced: true } : {}),
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
  .option("--default <id>", "the new default_agent, when removing the current one")
  .action(async (id: string, o: { force?: boolean; purge?: boolean; default?: string }, cmd: Command) => {
    const opts = globals(cmd);
    const cfg = await loadOrExit(opts);
    try {
      const removed = await removeAgent(configFile(opts), cfg, id, {
        ...o,
        ...(o.default ? { newDefault: o.default } : {}),
      });
      await auditCli(cfg, "agent.remove", id, {
        routes: removed,
        purge: o.purge === true,
        ...(o.default ? { new_default: o.default } : {}),
      });
      process.stdout.write(
        `removed agent ${id}${removed.length ? ` and ${removed.map((i) => `routes[${i}]`).join(", ")}` : ""}${o.purge ? " (home deleted)" : ""}\n`,
      );
    } catch (err) {
      if (err instanceof ConfigError) fail(err);
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
  .option("--user-id-alt <u>", "the platform's other user id (e.g. a Feishu open_id beside the union_id)")
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
      ...(o.userIdAlt ? { userIdAlt: o.userIdAlt } : {}),
    };
    // The configured selectAgent plugins run too: the answer is the agent that would really reply.
    let plugins: Awaited<ReturnType<typeof loadPlugins>>;
    try {
      plugins = await loadPlugins(cfg);
    } catch (err) {
      fail(err);
    }
    const router = createRouter(cfg, { hooks: plugins });
    const r = await router.resolve(source);
    const rule =
      r.by === "route"
        ? `routes[${r.route}]`
        : r.by === "hook"
          ? `plugin ${r.plugin} (selectAgent)`
          : `default_agent (${cfg.default_agent})`;
    if (opts.json)
      return printJson({
        agent: r.agentId,
        by: r.by,
        route: r.route ?? null,
        plugin: r.plugin ?? null,
        rule,
      });
    const match =
      r.route !== undefined
        ? ` — match ${Object.entries(cfg.routes[r.route]!.match)
            .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
            .join(" ")}`
        : "";
    process.stdout.write(`agent: ${r.agentId}\nrule:  ${rule}${match}\n`);
  });

registerSessionCommands(program, { loadOrExit, globals, fail });
registerCronCommands(program, { loadOrExit, globals, fail });
registerImportCommands(program, { globals, fail });
registerMcpCommands(program, { loadOrExit, globals, fail });
registerOperateCommands(program, { loadOrExit, globals, fail });
registerPairingCommands(program, { loadOrExit, globals, fail });
registerStoreCommands(program, { loadOrExit, globals, fail });

await program.parseAsync(process.argv);
