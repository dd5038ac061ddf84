import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalizePush } from "@switchboard/adapter-yuanbao";
import {
  buildSessionKey,
  createRouter,
  memoryLogger,
  openSessionStore,
  readJobs,
  sourceOf,
} from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  DEFAULT_BOT,
  FakeTelegram,
  SECOND_BOT,
} from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { FakeYuanbao } from "../../../packages/adapter-yuanbao/test/fake-yuanbao.ts";
import { loadGatewayConfig } from "../src/config.ts";
import { importHermes } from "../src/import-hermes/index.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";
import { cli } from "./cli-helpers.ts";
import {
  type HermesFixture,
  hashTree,
  writeHermesHome,
  YUANBAO_DM_USER,
  YUANBAO_GROUP,
  YUANBAO_MEMBER,
} from "./hermes-fixture.ts";

const SUPPORT_BOT = { ...SECOND_BOT, account: "support" };
const NOW = Date.parse("2026-06-01T12:00:00Z");

const tmp = mkdtempSync(join(tmpdir(), "sb-import-hermes-"));
const hermesHome = join(tmp, "hermes");
const home = join(tmp, "switchboard");
let stub: StubLlm;
let fake: FakeTelegram;
let yuanbao: FakeYuanbao;
let fixture: HermesFixture;
let gw: RunningGateway | undefined;

beforeAll(async () => {
  stub = await startStubLlm();
  fake = await FakeTelegram.start([DEFAULT_BOT, SUPPORT_BOT]);
  yuanbao = await FakeYuanbao.start();
  const bot = yuanbao.bot();
  fixture = writeHermesHome(hermesHome, {
    modelUrl: stub.url,
    tokens: { main: DEFAULT_BOT.token, support: SUPPORT_BOT.token },
    yuanbao: { appId: bot.appId, appSecret: bot.appSecret, wsUrl: yuanbao.wsUrl, apiDomain: yuanbao.url },
  });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await yuanbao?.close();
  await stub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("switchboard import hermes", () => {
  it("prints the plan on --dry-run and writes nothing", async () => {
    const before = hashTree(hermesHome);
    const r = await importHermes({ hermesHome, home, dryRun: true, now: NOW });
    expect(existsSync(home)).toBe(false);
    expect(hashTree(hermesHome)).toBe(before);
    const text = r.text
      .replaceAll(tmp, "<tmp>")
      .replaceAll(stub.url, "<stub>")
      .replaceAll(yuanbao.url, "<yuanbao>");
    const json = cli(["import", "hermes", hermesHome, "--home", home, "--dry-run", "--json"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dry_run: true,
      written: null,
      agents: [{ id: "main" }, { id: "ops" }, { id: "support", sessions: 3, continued: 2, jobs: 2 }],
    });
    expect(existsSync(home)).toBe(false);
    expect(text).toMatchInlineSnapshot(`
      "Hermes home:      <tmp>/hermes
      Switchboard home: <tmp>/switchboard

      agents (Hermes → Switchboard id):
      FROM             AGENT    MODEL              SKILLS  JOBS  SESSIONS  CONTINUED  MESSAGES
      default profile  main     custom/stub-model  0       1     3         3          5
      profile ops      ops      (default)          0       0     0         0          0
      profile support  support  custom/stub-model  2       2     3         2          5

      platform accounts (one per distinct bot credential):
      PLATFORM  ACCOUNT  AGENT    SECRETS (root .env)
      telegram  default  main     TELEGRAM_BOT_TOKEN
      yuanbao   default  main     YUANBAO_APP_SECRET
      telegram  support  support  TELEGRAM_BOT_TOKEN_SUPPORT

      routes (first match wins):
      RULE       MATCH                                                      AGENT
      routes[0]  platform=telegram account=default chat_id=-1009999         ops
      routes[1]  platform=telegram account=default parent_chat_id=-1009999  ops
      routes[2]  platform=yuanbao account=default chat_id=30002             ops
      routes[3]  platform=telegram account=support                          support

      totals: 3 agents, 3 accounts, 4 routes, 6 sessions (5 continue), 10 messages, 3 cron jobs

      not carried over (and why):
        - default profile: platform whatsapp is not carried over: Switchboard has no whatsapp adapter
        - gateway.profile_routes[1] (gone): profile nobody does not exist (Hermes rejected its messages; Switchboard sends them to the default agent): skipped
        - default profile: auth.json is not carried over: OAuth logins and credential pools are Hermes'; use API keys in the agent's .env
        - profile ops: provider "openai-codex" signs in through auth.json (OAuth), which Switchboard cannot use: set an API-key provider for this agent; it uses the default model for now
        - profile ops: hooks is not carried over: gateway hooks are Python (HOOK.yaml + handler.py); port them to a Switchboard plugin
        - profile support: cron job morning digest: names skills (triage); Switchboard jobs have only a prompt, which now asks for them
        - profile support: cron job with a script: runs a pre-run script (disk.sh), which Switchboard does not support: imported disabled

      dry run: nothing was written
      "
    `);
  });

  it("writes a new home that passes config check, and never touches the Hermes home", async () => {
    const before = hashTree(hermesHome);
    const r = cli(["import", "hermes", hermesHome, "--home", home]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("wrote");
    expect(r.stdout).toContain("config check: ok");
    expect(hashTree(hermesHome)).toBe(before);

    const check = cli(["config", "check", "--home", home, "--json"]);
    expect(check.status).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      ok: true,
      agents: ["main", "ops", "support"],
      routes: 4,
      platforms: { telegram: ["default", "support"], yuanbao: ["default"] },
    });

    // Secrets live in .env files, referenced from config.yaml, never written into it.
    const configText = readFileSync(join(home, "config.yaml"), "utf8");
    for (const secret of [
      ...Object.values(fixture.tokens),
      ...Object.values(fixture.keys),
      fixture.yuanbao.appSecret,
    ])
      expect(configText).not.toContain(secret);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config file's interpolation syntax
    expect(configText).toContain("${TELEGRAM_BOT_TOKEN_SUPPORT}");
    const rootEnv = readFileSync(join(home, ".env"), "utf8");
    expect(rootEnv).toContain(`TELEGRAM_BOT_TOKEN_SUPPORT=${fixture.tokens.support}`);
    expect(rootEnv).toContain(`OPENAI_API_KEY=${fixture.keys.main}`);
    expect(rootEnv).toContain(`YUANBAO_APP_SECRET=${fixture.yuanbao.appSecret}`);
    expect(readFileSync(join(home, ".env"), "utf8")).not.toContain("YUANBAO_APP_ID");
    const supportEnv = readFileSync(join(home, "agents/support/.env"), "utf8");
    expect(supportEnv).toContain(`OPENAI_API_KEY=${fixture.keys.support}`);
    expect(supportEnv).not.toContain("TELEGRAM_BOT_TOKEN");

    // Persona, memory, skills and jobs are in each agent's home.
    expect(readFileSync(join(home, "SOUL.md"), "utf8")).toContain("household assistant");
    expect(readFileSync(join(home, "agents/support/SOUL.md"), "utf8")).toContain("support desk");
    expect(readFileSync(join(home, "agents/support/memories/USER.md"), "utf8")).toContain("Ada");
    expect(existsSync(join(home, "agents/support/skills/refunds/SKILL.md"))).toBe(true);
    const jobs = readJobs(join(home, "agents/support/cron"));
    expect(jobs.map((j) => [j.id, j.schedule, j.timezone, j.deliver, j.enabled])).toEqual([
      ["a1b2c3d4e5f6", { input: "0 9 * * 1-5", kind: "cron" }, "Europe/Berlin", "origin", true],
      ["0f0f0f0f0f0f", { input: "every 30m", kind: "every" }, undefined, "local", false],
    ]);
    expect(jobs[0]!.origin).toEqual({
      platform: "telegram",
      account: "support",
      chatId: "777",
      chatType: "dm",
    });
    expect(jobs[0]!.prompt).toContain("triage");
    expect(jobs[0]!.repeat.completed).toBe(12);

    const store = openSessionStore(join(home, "state.db"));
    try {
      const ada = await store.findActive("agent:support:telegram@support:dm:777");
      expect(ada).toMatchObject({
        id: "20260601_100000_bbbb0001",
        agentId: "support",
        title: "Ada's refund",
      });
      expect((await store.findActive("agent:main:telegram:dm:501"))?.id).toBe("20260501_090000_aaaa0001");
      expect((await store.get("api:support:api-0123456789abcdef"))?.sessionKey).toBe(
        "agent:support:api_server:session:api-0123456789abcdef",
      );
      const old = await store.get("20260520_080000_bbbb0000");
      expect(old).toMatchObject({ agentId: "support", endReason: "session_reset" });
      expect((await store.history(ada!.id, 10))[1]!.toolCalls).toEqual([
        { id: "call_1", name: "skill_view", input: { name: "refunds" } },
      ]);
      expect(await store.search("older chat", { agentId: "support" })).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it("carries the Yuanbao bot over: the adapter's schema accepts it, and its chats keep their sessions", async () => {
    // As written: the secret is a reference to the root .env; the hosts Hermes overrode are kept.
    expect(parse(readFileSync(join(home, "config.yaml"), "utf8")).platforms.yuanbao).toEqual({
      accounts: {
        default: {
          app_id: fixture.yuanbao.appId,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config file's interpolation syntax
          app_secret: "${YUANBAO_APP_SECRET}",
          ws_url: fixture.yuanbao.wsUrl,
          api_domain: fixture.yuanbao.apiDomain,
          allowed_users: [YUANBAO_MEMBER, YUANBAO_DM_USER],
        },
      },
    });
    // As loaded and validated with @switchboard/adapter-yuanbao's schema (what `config check` does).
    const config = await loadGatewayConfig({ home, env: {} });
    expect(config.platformAccounts.get("yuanbao")?.get("default")).toMatchObject({
      app_id: fixture.yuanbao.appId,
      app_secret: fixture.yuanbao.appSecret,
      require_mention: true,
    });
    // Hermes' `group:30002` route is on the group code the adapter reports.
    expect(config.routes).toContainEqual(
      expect.objectContaining({
        match: { platform: "yuanbao", account: "default", chat_id: "30002" },
        agent: "ops",
      }),
    );

    // The key the gateway builds for the next message from that group (or private chat), from the adapter's
    // own reading of a Yuanbao push, core's router and session-key builder.
    const router = createRouter(config);
    const keyOf = (chatType: "group" | "dm", chatId: string, userId: string) => {
      const inbound = normalizePush(
        yuanbao.pushOf({ chatType, chatId, userId, text: "hi", mention: true }) as never,
        { account: "default", botId: yuanbao.bot().botId },
      )!;
      const source = sourceOf(inbound);
      return buildSessionKey(
        { ...source, agentId: router.match(source).agentId },
        { groupPerUser: config.session.group_per_user, threadPerUser: config.session.thread_per_user },
      );
    };
    const groupKey = keyOf("group", YUANBAO_GROUP, YUANBAO_MEMBER);
    expect(groupKey).toBe(`agent:main:yuanbao:group:${YUANBAO_GROUP}:${YUANBAO_MEMBER}`);
    const store = openSessionStore(join(home, "state.db"));
    try {
      expect(await store.findActive(groupKey)).toMatchObject({
        id: "20260510_120000_cccc0001",
        platform: "yuanbao",
        chatId: YUANBAO_GROUP,
        chatType: "group",
        threadId: null,
      });
      expect((await store.findActive(keyOf("dm", YUANBAO_DM_USER, YUANBAO_DM_USER)))?.id).toBe(
        "20260511_080000_cccc0002",
      );
    } finally {
      await store.close();
    }

    // The job that reported to the group delivers to it as its origin, which says it is a group.
    const [job] = readJobs(join(home, "cron"));
    expect(job).toMatchObject({
      id: "c0ffee000001",
      deliver: "origin",
      origin: { platform: "yuanbao", account: "default", chatId: YUANBAO_GROUP, chatType: "group" },
    });
  });

  it("refuses a non-empty home without --merge; with --merge a repeat import changes nothing", () => {
    const refused = cli(["import", "hermes", hermesHome, "--home", home]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("is not empty");
    const configBefore = readFileSync(join(home, "config.yaml"), "utf8");
    const merged = cli(["import", "hermes", hermesHome, "--home", home, "--merge"]);
    expect(merged.status).toBe(0);
    expect(merged.stdout).toContain("wrote");
    expect(merged.stdout).toContain("0 sessions");
    expect(merged.stdout).toContain("6 sessions already there, kept");
    expect(parse(readFileSync(join(home, "config.yaml"), "utf8"))).toEqual(parse(configBefore));
  });

  it("continues an imported chat: the next Telegram message lands in its session with its history", async () => {
    // Point the imported bots at the fake Bot API, as a test does for any Telegram config.
    const file = join(home, "config.yaml");
    const config = parse(readFileSync(file, "utf8"));
    Object.assign(config.platforms.telegram, { api_url: fake.url, poll_timeout_s: 1 });
    config.api_server = { enabled: false };
    writeFileSync(file, stringify(config));
    gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });

    await fake.inject({
      account: "support",
      chatType: "dm",
      chatId: "777",
      userId: "777",
      text: "what is my name?",
    });
    const reply = await fake.waitForSent((m) => m.text.includes("what is my name?"), 10_000);
    expect(reply.account).toBe("support");
    expect(reply.text).toBe("stub: what is my name?");

    // The model saw the imported history, with support's own key (not main's).
    const i = stub.requests.findIndex((r) => JSON.stringify(r.messages).includes("what is my name?"));
    const sent = JSON.stringify(stub.requests[i]!.messages);
    expect(sent).toContain("Hi, my name is Ada");
    expect(sent).toContain("Hello Ada, how can I help?");
    expect(sent).toContain("support desk");
    expect(stub.requestHeaders[i]!.authorization).toBe(`Bearer ${fixture.keys.support}`);

    const session = (await gw.store.findActive("agent:support:telegram@support:dm:777"))!;
    expect(session.id).toBe("20260601_100000_bbbb0001");
    const history = (await gw.store.history(session.id, 50)).map((m) => m.content);
    expect(history.slice(0, 1)).toEqual(["Hi, my name is Ada"]);
    expect(history.slice(-2)).toEqual(["what is my name?", "stub: what is my name?"]);
  });

  it("continues an imported Yuanbao group chat: Hermes' `group:<code>` session is the group's session now", async () => {
    // The imported account signs in at the hosts the Hermes .env named: here, the fake.
    await yuanbao.inject({
      chatType: "group",
      chatId: YUANBAO_GROUP,
      userId: YUANBAO_MEMBER,
      userName: "Ann",
      text: "when is the picnic?",
      mention: true,
    });
    const reply = await yuanbao.waitForSent((m) => m.text.includes("when is the picnic?"), 10_000);
    expect(reply).toMatchObject({ chatId: YUANBAO_GROUP, text: "stub: when is the picnic?" });
    const i = stub.requests.findIndex((r) => JSON.stringify(r.messages).includes("when is the picnic?"));
    expect(JSON.stringify(stub.requests[i]!.messages)).toContain("the group's picnic is on Saturday");
    const session = (await gw!.store.findActive(
      `agent:main:yuanbao:group:${YUANBAO_GROUP}:${YUANBAO_MEMBER}`,
    ))!;
    expect(session.id).toBe("20260510_120000_cccc0001");
    expect((await gw!.store.history(session.id, 50)).map((m) => m.content)).toEqual([
      "Ann: the group's picnic is on Saturday",
      "Saturday picnic, noted.",
      "when is the picnic?",
      "stub: when is the picnic?",
    ]);
  });
});
