import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { resolveAgentHome } from "../src/agents.ts";
import { loadConfig } from "../src/config/load.ts";
import { platformCommonSchema } from "../src/config/schema.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";
import type { PlatformDefinition } from "../src/platform.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "sb-config-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

async function issuesOf(
  yaml: string,
  options: { env?: Record<string, string>; platforms?: Record<string, PlatformDefinition> } = {},
) {
  const file = join(home, "config.yaml");
  writeFileSync(file, yaml);
  try {
    await loadConfig({
      home,
      env: options.env ?? {},
      ...(options.platforms ? { platforms: options.platforms } : {}),
    });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.file).toBe(file);
    // The message lists every issue with its path.
    for (const i of e.issues) expect(e.message).toContain(`${i.path || "(root)"}: ${i.message}`);
    return e.issues;
  }
  throw new Error("expected a ConfigError");
}
const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path);

describe("config errors name the exact path", () => {
  it("an unknown match key (a typo)", async () => {
    const issues = await issuesOf(`
agents: { ops: {} }
routes:
  - { match: { platform: telegram }, agent: ops }
  - { match: { platform: slack }, agent: ops }
  - { match: { platform: telegram, chat_idd: "-100" }, agent: ops }
`);
    expect(paths(issues)).toEqual(["routes[2].match.chat_idd"]);
    expect(issues[0]!.message).toMatch(/unknown match key; expected one of platform, account, chat_id/);
  });

  it("an invalid agent id", async () => {
    const issues = await issuesOf("agents:\n  Bad_Id: {}\n  ok: {}\n");
    expect(paths(issues)).toEqual(["agents.Bad_Id"]);
    expect(issues[0]!.message).toMatch(/invalid agent id/);
  });

  it("an agent id that would escape the home directory", async () => {
    expect(paths(await issuesOf('agents:\n  "../etc": {}\n'))).toEqual(["agents.../etc"]);
  });

  it("a route to an undefined agent", async () => {
    const issues = await issuesOf(
      "agents: { ops: {} }\nroutes:\n  - { match: { platform: telegram }, agent: suport }\n",
    );
    expect(paths(issues)).toEqual(["routes[0].agent"]);
    expect(issues[0]!.message).toMatch(/agent "suport" is not defined under agents: \(defined: ops, main\)/);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
  it("a missing ${VAR}, at the path where it is used", async () => {
    const issues = await issuesOf(`
platforms:
  telegram:
    accounts:
      support: { token: "\${SUPPORT_BOT_TOKEN}" }
api_server:
  keys:
    - { key: "\${SWITCHBOARD_API_KEY}", agents: "*" }
`);
    expect(paths(issues)).toEqual(["platforms.telegram.accounts.support.token", "api_server.keys[0].key"]);
    expect(issues[0]!.message).toMatch(/variable SUPPORT_BOT_TOKEN is not set/);
    expect(issues[1]!.message).toMatch(/variable SWITCHBOARD_API_KEY is not set/);
  });

  it("api_server.keys when the host is not loopback", async () => {
    const issues = await issuesOf("api_server: { host: 0.0.0.0 }\n");
    expect(paths(issues)).toEqual(["api_server.keys"]);
    expect(issues[0]!.message).toMatch(/required when api_server.host \(0.0.0.0\) is not loopback/);
  });

  it("an unknown top-level key", async () => {
    const issues = await issuesOf("agent: { main: {} }\n");
    expect(issues).toEqual([{ path: "agent", message: 'unknown key; did you mean "agents"?' }]);
  });

  it("an unknown provider", async () => {
    const issues = await issuesOf("model: { provider: openia, name: gpt-4.1 }\n");
    expect(paths(issues)).toEqual(["model.provider"]);
    expect(issues[0]!.message).toMatch(/unknown provider "openia"/);
  });

  it("an unknown provider on one agent", async () => {
    expect(paths(await issuesOf("agents:\n  ops: { model: { provider: localhost } }\n"))).toEqual([
      "agents.ops.model.provider",
    ]);
  });

  it("an openai-compatible provider without base_url", async () => {
    const issues = await issuesOf(
      "providers: { local: { kind: openai-compatible } }\nmodel: { provider: local, name: qwen3 }\n",
    );
    expect(paths(issues)).toEqual(["model.provider"]);
    expect(issues[0]!.message).toMatch(/needs a base_url under providers.local/);
  });

  it("an empty match", async () => {
    const issues = await issuesOf(
      "routes:\n  - { match: { platform: x }, agent: main }\n  - { match: {}, agent: main }\n",
    );
    expect(paths(issues)).toEqual(["routes[1].match"]);
    expect(issues[0]!.message).toMatch(/must not be empty/);
  });

  it("an undefined default_agent", async () => {
    expect(paths(await issuesOf("default_agent: support\n"))).toEqual(["default_agent"]);
  });

  it("an unknown reset mode", async () => {
    expect(paths(await issuesOf("session: { reset: { mode: weekly } }\n"))).toEqual(["session.reset.mode"]);
  });

  it("a wrong chat_type value in a match list", async () => {
    expect(
      paths(await issuesOf("routes:\n  - { match: { chat_type: [dm, private] }, agent: main }\n")),
    ).toEqual(["routes[0].match.chat_type"]);
  });

  it("an API key allowed an undefined agent", async () => {
    const issues = await issuesOf(
      'api_server:\n  keys:\n    - { key: "0123456789abcdef", agents: [main, nobody] }\n',
    );
    expect(paths(issues)).toEqual(["api_server.keys[0].agents[1]"]);
  });

  it("a wrong type deep in a section", async () => {
    expect(paths(await issuesOf("api_server: { port: eighty }\n"))).toEqual(["api_server.port"]);
  });

  it("a YAML syntax error", async () => {
    const issues = await issuesOf("agents:\n  main: {\nroutes: [\n");
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.path).toBe("");
    expect(issues[0]!.message).toMatch(/^YAML syntax: .*line \d+/);
  });

  it("a duplicated key", async () => {
    const issues = await issuesOf("agents: { main: {} }\nagents: { ops: {} }\n");
    expect(issues[0]!.message).toMatch(/YAML syntax: Map keys must be unique/);
  });

  it("a file that is not a mapping", async () => {
    expect(await issuesOf("- just\n- a list\n")).toEqual([
      { path: "", message: "must be a YAML mapping of settings" },
    ]);
  });

  it("several problems at once, all listed", async () => {
    const issues = await issuesOf(`
agents: { ops: {} }
default_agent: nobody
routes:
  - { match: { platform: telegram }, agent: ghost }
api_server: { host: 0.0.0.0 }
`);
    expect(paths(issues).sort()).toEqual(["api_server.keys", "default_agent", "routes[0].agent"]);
  });

  it("a platform account rejected by its adapter's schema", async () => {
    const telegram: PlatformDefinition = {
      name: "telegram",
      configSchema: platformCommonSchema.extend({ token: z.string().min(10) }).strict(),
      create: () => {
        throw new Error("not used");
      },
    };
    const issues = await issuesOf(
      "platforms:\n  telegram:\n    token: short\n    accounts:\n      support: { token: tiny, polling: true }\n",
      { platforms: { telegram } },
    );
    expect(paths(issues).sort()).toEqual([
      "platforms.telegram.accounts.support.polling",
      "platforms.telegram.accounts.support.token",
      "platforms.telegram.token",
    ]);
  });

  it("an explicit config file that does not exist", async () => {
    await expect(loadConfig({ home, path: join(home, "missing.yaml"), env: {} })).rejects.toMatchObject({
      issues: [{ path: "", message: expect.stringMatching(/missing.yaml does not exist/) }],
    });
  });
});

describe("loading", () => {
  const write = (yaml: string) => writeFileSync(join(home, "config.yaml"), yaml);

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
  it("interpolates ${VAR} and ${VAR:-default} from the root .env and the environment, the environment winning", async () => {
    writeFileSync(join(home, ".env"), "TG_TOKEN=from-dotenv\nAPI_KEY=dotenv-api-key-123\nSHADOWED=dotenv\n");
    write(`
platforms:
  telegram: { token: "\${TG_TOKEN}", allowed_users: ["\${OWNER:-42}"] }
api_server:
  host: "\${API_HOST:-127.0.0.1}"
  keys: [{ key: "\${API_KEY}" }]
agents:
  main: { name: "\${SHADOWED}-\${MISSING_OK:-fallback}" }
`);
    const config = await loadConfig({ home, env: { SHADOWED: "env", API_HOST: "0.0.0.0" } });
    expect(config.platformAccounts.get("telegram")!.get("default")).toMatchObject({
      token: "from-dotenv",
      allowed_users: ["42"],
    });
    expect(config.api_server.host).toBe("0.0.0.0");
    expect(config.api_server.keys[0]!.key).toBe("dotenv-api-key-123");
    expect(config.registry.main.name).toBe("env-fallback");
    expect(config.env.TG_TOKEN).toBe("from-dotenv");
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
  it("interpolates a ${VAR} whose $ is escaped in a double-quoted YAML string, and leaves a file without variables as written", async () => {
    write('agents:\n  main: { name: "\\x24{WHO}-\\u0024{WHO}-\\U00000024{WHO}" }\n');
    expect((await loadConfig({ home, env: { WHO: "ops" } })).registry.main.name).toBe("ops-ops-ops");
    write('agents:\n  main: { name: "$WHO {WHO} \\x25{WHO}" }\n');
    expect((await loadConfig({ home, env: { WHO: "ops" } })).registry.main.name).toBe("$WHO {WHO} %{WHO}");
  });

  it("uses the embedded default with no file: main on echo, API on 127.0.0.1:8642, no platforms", async () => {
    const config = await loadConfig({ home, env: {} });
    expect(config.configPath).toBeUndefined();
    expect(config.registry.ids()).toEqual(["main"]);
    expect(config.registry.main.provider.kind).toBe("echo");
    expect(config.api_server).toMatchObject({ enabled: true, host: "127.0.0.1", port: 8642 });
    expect(config.platforms).toEqual({});
    expect(config.routes).toEqual([]);
    expect(config.default_agent).toBe("main");
  });

  it("uses openai in the embedded default when OPENAI_API_KEY is set, in the environment or the root .env", async () => {
    const fromEnv = await loadConfig({ home, env: { OPENAI_API_KEY: "sk-test" } });
    expect(fromEnv.registry.main.provider).toMatchObject({ kind: "openai", apiKeyEnv: "OPENAI_API_KEY" });
    writeFileSync(join(home, ".env"), "OPENAI_API_KEY=sk-dotenv\n");
    expect((await loadConfig({ home, env: {} })).registry.main.provider.kind).toBe("openai");
  });

  it("reads $SWITCHBOARD_HOME when no home is given", async () => {
    write("agents: { ops: {} }\n");
    const config = await loadConfig({ env: { SWITCHBOARD_HOME: home } });
    expect(config.home).toBe(resolve(home));
    expect(config.registry.get("ops")!.home).toBe(join(home, "agents", "ops"));
  });

  it("resolves an explicit relative config path against the working directory", async () => {
    const cwd = process.cwd();
    const elsewhere = join(home, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "gw.yaml"), "agents: { picked: {} }\n");
    try {
      process.chdir(elsewhere);
      const config = await loadConfig({ home, path: "./gw.yaml", env: {} });
      expect(config.configPath).toBe(join(elsewhere, "gw.yaml"));
      expect(config.registry.has("picked")).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it("treats empty YAML sections as unset", async () => {
    write("agents:\n  main:\n  ops:\nroutes:\nplatforms:\n");
    const config = await loadConfig({ home, env: {} });
    expect(config.registry.ids().sort()).toEqual(["main", "ops"]);
    expect(config.routes).toEqual([]);
  });

  it("resolves agent homes per DESIGN §2", async () => {
    write(`
agents:
  main: {}
  support: {}
  ops: { home: /srv/ops }
  rel: { home: ./teams/rel }
  tilde: { home: ~/tilde-agent }
`);
    const config = await loadConfig({ home, env: {} });
    expect(config.registry.main.home).toBe(home);
    expect(config.registry.get("support")!.home).toBe(join(home, "agents", "support"));
    expect(config.registry.get("ops")!.home).toBe("/srv/ops");
    expect(config.registry.get("rel")!.home).toBe(join(home, "teams", "rel"));
    expect(config.registry.get("tilde")!.home).toBe(join(homedir(), "tilde-agent"));
    expect(resolveAgentHome("/r", "main")).toBe("/r");
  });

  it("resolves profiles: models, providers, secrets mode, toolsets", async () => {
    write(`
model: { provider: echo }
providers:
  local: { kind: openai-compatible, base_url: "http://127.0.0.1:11434/v1" }
agents:
  support: { model: { provider: openai, name: gpt-4.1-mini }, toolsets: [memory], expose: false }
  ops: { model: { provider: local, name: "qwen3:8b" }, secrets: inherit }
`);
    const config = await loadConfig({ home, env: {} });
    const main = config.registry.main;
    expect(main).toMatchObject({
      isMain: true,
      secrets: "inherit",
      provider: { kind: "echo" },
      toolsets: ["memory", "skills", "cron", "sessions", "delegate", "media"],
    });
    expect(config.registry.get("support")).toMatchObject({
      secrets: "own",
      expose: false,
      toolsets: ["memory"],
      provider: { kind: "openai", apiKeyEnv: "OPENAI_API_KEY" },
    });
    expect(config.registry.get("ops")).toMatchObject({
      secrets: "inherit",
      provider: { name: "local", kind: "openai-compatible", baseUrl: "http://127.0.0.1:11434/v1" },
      model: { name: "qwen3:8b" },
    });
  });
});

describe("platform accounts", () => {
  it("shares section settings with named accounts but never the default account's credentials", async () => {
    const { platformAccounts } = await import("../src/config/platform-config.ts");
    const accounts = platformAccounts({
      token: "default-token",
      mode: "webhook",
      require_mention: true,
      accounts: { support: { token: "support-token" }, ops: { reply_to_mode: "all" } },
    });
    expect([...accounts.keys()].sort()).toEqual(["default", "ops", "support"]);
    expect(accounts.get("default")).toMatchObject({ token: "default-token", mode: "webhook" });
    expect(accounts.get("support")).toMatchObject({
      token: "support-token",
      mode: "webhook",
      require_mention: true,
    });
    expect(accounts.get("ops")).not.toHaveProperty("token");
    expect(accounts.get("ops")).toMatchObject({ mode: "webhook", reply_to_mode: "all" });
  });

  it("has no default account when only named accounts carry credentials", async () => {
    const { platformAccounts } = await import("../src/config/platform-config.ts");
    const accounts = platformAccounts({
      mode: "socket",
      accounts: { a: { bot_token: "x" }, b: { bot_token: "y" } },
    });
    expect([...accounts.keys()].sort()).toEqual(["a", "b"]);
  });
});
