import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@switchboard/core";
import { afterAll, describe, expect, it } from "vitest";
import { writeLegacyDb } from "../../../packages/core/test/helpers/legacy-db.ts";
import { importHermes } from "../src/import-hermes/index.ts";

/** `${NAME}`, the config's reference to a variable. */
const ref = (name: string) => `\${${name}}`;
const tmp = mkdtempSync(join(tmpdir(), "sb-import-plan-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** The multi-agent PR's schema (`agents:`, `routes:`, `default_agent`) in the default profile (reference §1.6). */
function multiAgentHome(root: string): void {
  write(root, {
    "config.yaml": `model: anthropic/claude-sonnet-4-6
default_agent: Support.Desk
agents:
  main: {}
  Support.Desk:
    model: gpt-5
    provider: openrouter
    api_key_env: SUPPORT_OPENROUTER_KEY
    enabled_toolsets: [web]
  ops:
    home_dir: ./profiles/ops
routes:
  - match: { platform: telegram, chat_id: "-1009999", thread_id: "7" }
    agent: ops
  - match: { platform: telegram, chat_id: "-1009999" }
    agent: Support.Desk
  - match: { platform: api_server, chat_id: ops-console }
    agent: ops
  - match: { platform: telegram, chat_id: "-100123" }
    agent: main
  - match: { platform: discord }
    agent: main
  - match: { platform: slack, chat_idd: "x" }
    agent: ops
  - match: {}
    agent: ops
platforms:
  discord: { enabled: true, token: discord-token-from-yaml }
discord: { require_mention: false }
`,
    ".env": [
      "TELEGRAM_BOT_TOKEN=123:shared-token",
      "ANTHROPIC_API_KEY=sk-ant-main",
      "SUPPORT_OPENROUTER_KEY=sk-or-support",
      "GATEWAY_ALLOW_ALL_USERS=true",
      "API_SERVER_ENABLED=true",
      "API_SERVER_KEY=api-key-main-1",
      "",
    ].join("\n"),
    "profiles/ops/config.yaml": "model: { default: gpt-4.1, provider: openai }\n",
    "profiles/ops/.env":
      "TELEGRAM_BOT_TOKEN=123:shared-token\nOPENAI_API_KEY=sk-ops\nAPI_SERVER_KEY=api-key-ops-22\n",
    "sessions/sessions.json": JSON.stringify({
      "agent:main:telegram:group:-100123:987": {
        session_id: "s-group",
        origin: { platform: "telegram", chat_id: "-100123", chat_type: "group", user_id: "987" },
      },
      "agent:ops:telegram:group:-1009999:7": {
        session_id: "s-topic",
        origin: {
          platform: "telegram",
          chat_id: "-1009999",
          chat_type: "group",
          thread_id: "7",
          user_id: "5",
        },
      },
      "agent:main:discord:dm:444": { session_id: "s-discord", platform: "discord", chat_type: "dm" },
      // Stored as main's, but that group now routes to support-desk (routes[1]).
      "agent:main:telegram:group:-1009999:31": {
        session_id: "s-moved",
        origin: { platform: "telegram", chat_id: "-1009999", chat_type: "group", user_id: "31" },
      },
    }),
  });
  const t = Date.parse("2026-06-01T10:00:00Z") / 1000;
  writeLegacyDb(
    join(root, "state.db"),
    ["s-group", "s-topic", "s-discord", "s-moved"].map((id, i) => ({
      id,
      source: id === "s-discord" ? "discord" : "telegram",
      startedAt: t + i,
      messages: [{ role: "user", content: `hello from ${id}`, timestamp: t + i }],
    })),
  );
}

describe("import hermes: the multi-agent schema", () => {
  const hermesHome = join(tmp, "multi");
  multiAgentHome(hermesHome);

  it("maps agents (ids normalised), routes, shared bots, providers and API keys; keys continue chats", async () => {
    const home = join(tmp, "multi-out");
    const { plan, text } = await importHermes({ hermesHome, home });
    expect(text).toContain("agents.Support.Desk  support-desk");
    expect(plan.config.default_agent).toBe("support-desk");
    expect(plan.config.agents).toEqual({
      main: { model: { provider: "anthropic", name: "claude-sonnet-4-6" } },
      ops: { model: { provider: "openai", name: "gpt-4.1" } },
      "support-desk": { model: { provider: "openrouter", name: "gpt-5" } },
    });
    expect(plan.config.providers).toEqual({
      openrouter: {
        kind: "openai-compatible",
        base_url: "https://openrouter.ai/api/v1",
        api_key_env: "SUPPORT_OPENROUTER_KEY",
      },
    });
    expect(plan.config.routes).toEqual([
      {
        name: "hermes routes[0]",
        match: { platform: "telegram", chat_id: "-1009999", thread_id: "7", account: "default" },
        agent: "ops",
      },
      {
        name: "hermes routes[1]",
        match: { platform: "telegram", chat_id: "-1009999", account: "default" },
        agent: "support-desk",
      },
      { name: "hermes routes[2]", match: { platform: "api_server", chat_id: "ops-console" }, agent: "ops" },
      {
        name: "hermes routes[3]",
        match: { platform: "telegram", chat_id: "-100123", account: "default" },
        agent: "main",
      },
      { name: "hermes routes[4]", match: { platform: "discord", account: "default" }, agent: "main" },
    ]);
    expect(plan.config.platforms).toEqual({
      telegram: { accounts: { default: { token: ref("TELEGRAM_BOT_TOKEN"), allow_all_users: true } } },
      discord: {
        accounts: {
          default: {
            token: ref("DISCORD_BOT_TOKEN"),
            require_mention: false,
            auto_thread: true,
            allow_all_users: true,
          },
        },
      },
    });
    expect(plan.config.api_server).toEqual({
      enabled: true,
      keys: [
        { key: ref("API_SERVER_KEY"), name: "hermes default profile", agents: ["main"] },
        { key: ref("API_SERVER_KEY_OPS"), name: "hermes profile ops", agents: ["ops"] },
      ],
    });
    expect(plan.rootEnv).toMatchObject({
      DISCORD_BOT_TOKEN: "discord-token-from-yaml",
      API_SERVER_KEY_OPS: "api-key-ops-22",
      ANTHROPIC_API_KEY: "sk-ant-main",
    });
    // Its own home (never the root home main has), seeded from the default profile.
    const desk = plan.agents.find((a) => a.id === "support-desk")!;
    expect(desk.home).toBe(join(home, "agents", "support-desk"));
    expect(desk.source).toBe(hermesHome);
    const ops = plan.agents.find((a) => a.id === "ops")!;
    expect(ops.env).toEqual({ OPENAI_API_KEY: "sk-ops" });
    expect(plan.notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining("profile ops: uses the same telegram bot as agent main"),
        expect.stringContaining("routes[5]: unknown match keys chat_idd"),
        expect.stringContaining("routes[6]: empty match"),
        expect.stringContaining("agents.Support.Desk: Hermes toolsets do not map"),
        expect.stringContaining(
          "agents.Support.Desk: shared HERMES_HOME with the default profile; Switchboard agents never share a home",
        ),
        expect.stringContaining("default profile: 1 chat session(s) now route to another agent"),
      ]),
    );
    const keys = plan.agents.flatMap((a) =>
      a.sessions.map((s) => [s.session.id, s.session.sessionKey, s.session.endedAt]),
    );
    expect(keys).toEqual([
      ["s-group", "agent:main:telegram:group:-100123:987", null],
      ["s-discord", "agent:main:discord:dm:444", null],
      ["s-moved", "agent:main:telegram:group:-1009999:31", Date.parse("2026-06-01T10:00:03Z")],
      ["s-topic", "agent:ops:telegram:group:-1009999:7", null],
    ]);
    // The same validation as `switchboard config check` passed on the written home.
    expect(text).toContain("config check: ok");
  });
});

describe("import hermes: Yuanbao", () => {
  it("keeps one account per app id and drops Hermes' group:/direct: prefixes from routes and cron targets", async () => {
    const hermesHome = join(tmp, "yuanbao");
    write(hermesHome, {
      "config.yaml": `routes:
  - match: { platform: yuanbao, chat_id: "group:777", thread_id: main }
    agent: helper
agents:
  main: {}
  helper: { home_dir: ./profiles/helper }
`,
      ".env": [
        "YUANBAO_APP_ID=app-1",
        "YUANBAO_APP_SECRET=yb-secret-1",
        "YUANBAO_REQUIRE_MENTION=false",
        "YUANBAO_ALLOW_ALL_USERS=true",
        "YUANBAO_HOME_CHANNEL=group:555",
        "",
      ].join("\n"),
      "profiles/helper/.env": "YUANBAO_APP_ID=app-1\nYUANBAO_APP_SECRET=yb-secret-1\n",
      "cron/jobs.json": JSON.stringify({
        jobs: [
          { id: "home01", prompt: "to the home group", schedule: "every 60m", deliver: "yuanbao" },
          { id: "dm01", prompt: "to bea", schedule: "every 60m", deliver: "yuanbao:direct:bea" },
        ],
      }),
    });
    const { plan } = await importHermes({ hermesHome, home: join(tmp, "yuanbao-out"), dryRun: true });
    expect(plan.config.platforms).toEqual({
      yuanbao: {
        accounts: {
          default: {
            app_id: "app-1",
            app_secret: ref("YUANBAO_APP_SECRET"),
            require_mention: false,
            allow_all_users: true,
          },
        },
      },
    });
    expect(plan.rootEnv).toMatchObject({ YUANBAO_APP_SECRET: "yb-secret-1" });
    expect(plan.notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining("uses the same yuanbao bot as agent main"),
        expect.stringContaining("delivers to yuanbao group 555"),
      ]),
    );
    // Yuanbao has no threads in Switchboard: Hermes' `main` thread is the group itself.
    expect(plan.config.routes).toEqual([
      {
        name: "hermes routes[0]",
        match: { platform: "yuanbao", chat_id: "777", account: "default" },
        agent: "helper",
      },
    ]);
    const jobs = plan.agents.find((a) => a.id === "main")!.jobs;
    expect(jobs.map((j) => [j.id, j.deliver])).toEqual([
      ["home01", "yuanbao:555"],
      ["dm01", "yuanbao:bea"],
    ]);
  });
});

describe("import hermes: validation", () => {
  it("checks the result as `config check` does before writing anything: a bad token fails naming its path", async () => {
    const hermesHome = join(tmp, "bad");
    write(hermesHome, { ".env": "TELEGRAM_BOT_TOKEN=not-a-bot-token\nTELEGRAM_ALLOW_ALL_USERS=true\n" });
    const home = join(tmp, "bad-out");
    const err = await importHermes({ hermesHome, home }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("platforms.telegram.accounts.default.token");
    expect(existsSync(home)).toBe(false);
  });
});
