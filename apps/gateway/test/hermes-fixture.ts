import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeLegacyDb } from "../../../packages/core/test/helpers/legacy-db.ts";

/** The default profile's Yuanbao bot (its app id and secret, the hosts it signs in at). */
export interface HermesYuanbaoBot {
  appId: string;
  appSecret: string;
  wsUrl: string;
  apiDomain: string;
}

export interface HermesFixture {
  root: string;
  /** Bot tokens of the default profile and of `profiles/support`. */
  tokens: { main: string; support: string };
  keys: { main: string; support: string };
  yuanbao: HermesYuanbaoBot;
}

/** The Yuanbao group with history in the default profile, the member who talked there, and a private chat. */
export const YUANBAO_GROUP = "30001";
export const YUANBAO_MEMBER = "yb_ann";
export const YUANBAO_DM_USER = "yb_bea";

const ISO = (s: string) => new Date(s).toISOString();

/**
 * A Hermes home in upstream's documented layout (reference/upstream-gateway.md §1, §2, §3, §6): the default
 * profile and `profiles/support` (each with its own Telegram bot token, `.env`, model and April-v6 `state.db`),
 * `profiles/ops` reached through `gateway.profile_routes`, SOUL/memories/skills, a cron job, the routing index.
 * The default profile also has a Yuanbao bot, with a group chat and a private chat in its history, keyed as
 * Hermes keys them (`group:<group_code>`, `direct:<account>`), and a cron job that reports to that group.
 */
export function writeHermesHome(
  root: string,
  options: { modelUrl: string; tokens: { main: string; support: string }; yuanbao: HermesYuanbaoBot },
): HermesFixture {
  const keys = { main: "sk-main-0123456789", support: "sk-support-0123456789" };
  const file = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const model = `model:\n  default: stub-model\n  provider: custom\n  base_url: ${options.modelUrl}\n`;

  // --- the default profile ---
  file(
    "config.yaml",
    `${model}timezone: Europe/Berlin
group_sessions_per_user: true
session_reset: { mode: none }
gateway:
  multiplex_profiles: true
  profile_routes:
    - { name: ops-room, platform: telegram, chat_id: "-1009999", profile: ops }
    - { name: gone, platform: telegram, chat_id: "-1008888", profile: nobody }
    - { name: ops-group, platform: yuanbao, chat_id: "group:30002", profile: ops }
platforms:
  telegram: { enabled: true, reply_to_mode: first }
`,
  );
  file(
    ".env",
    [
      `TELEGRAM_BOT_TOKEN=${options.tokens.main}`,
      "TELEGRAM_ALLOWED_USERS=501,502",
      `OPENAI_API_KEY=${keys.main}`,
      "WHATSAPP_ENABLED=true",
      `YUANBAO_APP_ID=${options.yuanbao.appId}`,
      `YUANBAO_APP_SECRET=${options.yuanbao.appSecret}`,
      `YUANBAO_WS_URL=${options.yuanbao.wsUrl}`,
      `YUANBAO_API_DOMAIN=${options.yuanbao.apiDomain}`,
      `YUANBAO_ALLOWED_USERS=${YUANBAO_MEMBER},${YUANBAO_DM_USER}`,
      "",
    ].join("\n"),
  );
  file("SOUL.md", "You are Hermes, the household assistant.\n");
  file("memories/MEMORY.md", "- the family dog is called Rex\n");
  file("auth.json", '{"providers":{}}\n');
  file("pairing/telegram-approved.json", JSON.stringify({ "503": { approved_at: ISO("2026-05-01") } }));
  writeLegacyDb(join(root, "state.db"), [
    {
      id: "20260501_090000_aaaa0001",
      source: "telegram",
      userId: "501",
      model: "stub-model",
      startedAt: Date.parse("2026-05-01T09:00:00Z") / 1000,
      messages: [
        {
          role: "user",
          content: "remember: the dog is Rex",
          timestamp: Date.parse("2026-05-01T09:00:00Z") / 1000,
        },
        { role: "assistant", content: "Noted, Rex.", timestamp: Date.parse("2026-05-01T09:00:05Z") / 1000 },
      ],
    },
    {
      id: "20260510_120000_cccc0001",
      source: "yuanbao",
      userId: YUANBAO_MEMBER,
      model: "stub-model",
      startedAt: Date.parse("2026-05-10T12:00:00Z") / 1000,
      messages: [
        {
          role: "user",
          content: "Ann: the group's picnic is on Saturday",
          timestamp: Date.parse("2026-05-10T12:00:00Z") / 1000,
        },
        {
          role: "assistant",
          content: "Saturday picnic, noted.",
          timestamp: Date.parse("2026-05-10T12:00:04Z") / 1000,
        },
      ],
    },
    {
      id: "20260511_080000_cccc0002",
      source: "yuanbao",
      userId: YUANBAO_DM_USER,
      startedAt: Date.parse("2026-05-11T08:00:00Z") / 1000,
      messages: [
        { role: "user", content: "hello in private", timestamp: Date.parse("2026-05-11T08:00:00Z") / 1000 },
      ],
    },
  ]);
  file(
    "sessions/sessions.json",
    JSON.stringify({
      "agent:main:telegram:dm:501": {
        session_key: "agent:main:telegram:dm:501",
        session_id: "20260501_090000_aaaa0001",
        created_at: ISO("2026-05-01T09:00:00Z"),
        updated_at: ISO("2026-05-01T09:00:05Z"),
        origin: { platform: "telegram", chat_id: "501", chat_type: "dm", user_id: "501" },
        platform: "telegram",
        chat_type: "dm",
      },
      // Later Hermes: a Yuanbao group is `group:<group_code>` with the thread `main`.
      [`agent:main:yuanbao:group:group:${YUANBAO_GROUP}:main`]: {
        session_key: `agent:main:yuanbao:group:group:${YUANBAO_GROUP}:main`,
        session_id: "20260510_120000_cccc0001",
        created_at: ISO("2026-05-10T12:00:00Z"),
        updated_at: ISO("2026-05-10T12:00:04Z"),
        origin: {
          platform: "yuanbao",
          chat_id: `group:${YUANBAO_GROUP}`,
          chat_type: "group",
          chat_name: "Picnic club",
          user_id: YUANBAO_MEMBER,
          user_name: "Ann",
          thread_id: "main",
        },
        platform: "yuanbao",
        chat_type: "group",
      },
      // An entry without an origin: only its key says which chat it is.
      [`agent:main:yuanbao:dm:direct:${YUANBAO_DM_USER}`]: {
        session_id: "20260511_080000_cccc0002",
        platform: "yuanbao",
        chat_type: "dm",
      },
    }),
  );
  file(
    "cron/jobs.json",
    JSON.stringify({
      jobs: [
        {
          id: "c0ffee000001",
          name: "picnic reminder",
          prompt: "Remind the group of the picnic.",
          schedule: { kind: "cron", expr: "0 18 * * 5", display: "0 18 * * 5" },
          repeat: { times: null, completed: 0 },
          enabled: true,
          created_at: ISO("2026-05-10T12:00:00Z"),
          next_run_at: ISO("2026-06-05T16:00:00Z"),
          deliver: `yuanbao:group:${YUANBAO_GROUP}`,
          origin: { platform: "yuanbao", chat_id: `group:${YUANBAO_GROUP}`, chat_type: "group" },
        },
      ],
    }),
  );

  // --- profiles/support: its own bot, key, persona, skills, cron job and history ---
  file("profiles/support/config.yaml", model);
  file(
    "profiles/support/.env",
    `TELEGRAM_BOT_TOKEN=${options.tokens.support}\nTELEGRAM_ALLOWED_USERS=777\nOPENAI_API_KEY=${keys.support}\nTELEGRAM_HOME_CHANNEL=777\n`,
  );
  file("profiles/support/SOUL.md", "You are the support desk. Be brief.\n");
  file("profiles/support/memories/USER.md", "- Ada prefers email\n");
  file(
    "profiles/support/skills/refunds/SKILL.md",
    "---\nname: refunds\ndescription: How to issue a refund\n---\nCheck the order, then refund.\n",
  );
  file(
    "profiles/support/skills/triage/SKILL.md",
    "---\nname: triage\ndescription: Sort tickets by urgency\n---\nUrgent first.\n",
  );
  file(
    "profiles/support/cron/jobs.json",
    JSON.stringify({
      jobs: [
        {
          id: "a1b2c3d4e5f6",
          name: "morning digest",
          prompt: "Summarise the open tickets.",
          skills: ["triage"],
          schedule: { kind: "cron", expr: "0 9 * * 1-5", display: "0 9 * * 1-5" },
          schedule_display: "0 9 * * 1-5",
          repeat: { times: null, completed: 12 },
          enabled: true,
          state: "scheduled",
          created_at: ISO("2026-04-01T08:00:00Z"),
          next_run_at: ISO("2026-06-02T07:00:00Z"),
          last_run_at: ISO("2026-06-01T07:00:00Z"),
          last_status: "ok",
          deliver: "telegram",
          origin: { platform: "telegram", chat_id: "777", chat_type: "dm" },
        },
        {
          id: "0f0f0f0f0f0f",
          name: "with a script",
          prompt: "Report the disk usage.",
          script: "disk.sh",
          schedule: { kind: "interval", minutes: 30, display: "every 30m" },
          repeat: { times: null, completed: 0 },
          enabled: true,
          created_at: ISO("2026-04-01T08:00:00Z"),
          next_run_at: ISO("2026-06-01T08:30:00Z"),
          deliver: "local",
        },
      ],
      updated_at: ISO("2026-06-01T07:00:00Z"),
    }),
  );
  writeLegacyDb(join(root, "profiles/support/state.db"), [
    {
      id: "20260601_100000_bbbb0001",
      source: "telegram",
      userId: "777",
      model: "stub-model",
      title: "Ada's refund",
      startedAt: Date.parse("2026-06-01T10:00:00Z") / 1000,
      inputTokens: 40,
      messages: [
        { role: "user", content: "Hi, my name is Ada", timestamp: Date.parse("2026-06-01T10:00:00Z") / 1000 },
        {
          role: "assistant",
          content: null,
          timestamp: Date.parse("2026-06-01T10:00:02Z") / 1000,
          toolCalls: JSON.stringify([
            {
              id: "call_1",
              type: "function",
              function: { name: "skill_view", arguments: '{"name":"refunds"}' },
            },
          ]),
        },
        {
          role: "assistant",
          content: "Hello Ada, how can I help?",
          timestamp: Date.parse("2026-06-01T10:00:04Z") / 1000,
        },
      ],
    },
    {
      id: "20260520_080000_bbbb0000",
      source: "telegram",
      userId: "777",
      startedAt: Date.parse("2026-05-20T08:00:00Z") / 1000,
      endedAt: Date.parse("2026-05-20T09:00:00Z") / 1000,
      endReason: "session_reset",
      messages: [
        { role: "user", content: "an older chat", timestamp: Date.parse("2026-05-20T08:00:00Z") / 1000 },
      ],
    },
    {
      id: "api-0123456789abcdef",
      source: "api_server",
      startedAt: Date.parse("2026-05-21T08:00:00Z") / 1000,
      messages: [
        { role: "user", content: "from Open WebUI", timestamp: Date.parse("2026-05-21T08:00:00Z") / 1000 },
      ],
    },
  ]);
  file(
    "profiles/support/sessions/sessions.json",
    JSON.stringify({
      "agent:support:telegram:dm:777": {
        session_key: "agent:support:telegram:dm:777",
        session_id: "20260601_100000_bbbb0001",
        created_at: ISO("2026-06-01T10:00:00Z"),
        updated_at: ISO("2026-06-01T10:00:04Z"),
        origin: { platform: "telegram", chat_id: "777", chat_type: "dm", user_id: "777", user_name: "Ada" },
        platform: "telegram",
        chat_type: "dm",
      },
    }),
  );

  // --- profiles/ops: no bot of its own, reached through the shared bot's profile_routes ---
  file("profiles/ops/config.yaml", "model: { default: gpt-4.1-mini, provider: openai-codex }\n");
  file("profiles/ops/SOUL.md", "You run operations.\n");
  file("profiles/ops/hooks/notify/HOOK.yaml", "name: notify\nevents: [agent:end]\n");
  return { root, tokens: options.tokens, keys, yuanbao: options.yuanbao };
}

/** A digest of every file under `dir` (paths, modes and contents), to prove a tree was left untouched. */
export function hashTree(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      h.update(`${relative(dir, p)}\0${st.mode}\0`);
      if (st.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}
