import type { FakePlatform } from "@switchboard/testing";
import { createFakeDiscord, type FakeDiscord } from "../../packages/adapter-discord/test/fake-discord.ts";
import {
  DEFAULT_BOTS as DISCORD_BOTS,
  type FakeBot as DiscordBot,
} from "../../packages/adapter-discord/test/fake-discord-wire.ts";
import {
  FakeFeishu,
  defaultApps as feishuApps,
  feishuSection,
} from "../../packages/adapter-feishu/test/fake-feishu.ts";
import {
  FakeHomeserver,
  defaultBots as matrixBots,
} from "../../packages/adapter-matrix/test/fake-homeserver.ts";
import { DEFAULT_WORKSPACES, FakeSlack } from "../../packages/adapter-slack/test/fake-slack.ts";
import {
  DEFAULT_BOT,
  FakeTelegram,
  type FakeBot as TelegramBot,
} from "../../packages/adapter-telegram/test/fake-telegram.ts";
import {
  FakeWecom,
  defaultApps as wecomApps,
  wecomSection,
} from "../../packages/adapter-wecom/test/fake-wecom.ts";
import {
  FakeYuanbao,
  defaultBots as yuanbaoBots,
  yuanbaoSection,
} from "../../packages/adapter-yuanbao/test/fake-yuanbao.ts";
import type { BenchChat } from "./load.ts";

/** One platform under load: its fake with a single `default` account, the config section, its chat ids. */
export interface BenchPlatform {
  /** The row label: platform and transport. */
  label: string;
  /** The `platforms:` key (and `@switchboard/adapter-<platform>`). */
  platform: string;
  start(env: { gatewayUrl: string }): Promise<FakePlatform>;
  section(fake: FakePlatform): Record<string, unknown>;
  /** The k-th DM chat, in the platform's id shape. */
  chat(k: number): BenchChat;
}

const slack = (mode: "socket" | "http", label: string): BenchPlatform => ({
  label,
  platform: "slack",
  start: (env) => FakeSlack.start({ mode, workspaces: [DEFAULT_WORKSPACES[0]!], gatewayUrl: env.gatewayUrl }),
  // Replies go to the DM itself, as on every other platform here (a thread per message would also mean a session per message).
  section: (fake) => (fake as FakeSlack).config({ reply_in_thread: false }),
  chat: (k) => ({ chatId: `D0BENCH${k}`, userId: `U0BENCH${k}` }),
});

export const BENCH_PLATFORMS: BenchPlatform[] = [
  {
    label: "telegram (long polling)",
    platform: "telegram",
    start: () => FakeTelegram.start([DEFAULT_BOT]),
    section: (fake) => telegramSection(fake as FakeTelegram, [DEFAULT_BOT]),
    chat: (k) => ({ chatId: String(100_000 + k), userId: String(100_000 + k) }),
  },
  {
    label: "discord (gateway WebSocket)",
    platform: "discord",
    start: () => createFakeDiscord({ bots: [DISCORD_BOTS[0]!] }),
    section: (fake) => discordSection(fake as FakeDiscord),
    chat: (k) => ({
      chatId: String(500_000_000_000_000_000n + BigInt(k)),
      userId: String(600_000_000_000_000_000n + BigInt(k)),
    }),
  },
  slack("socket", "slack (socket mode)"),
  slack("http", "slack (HTTP Events API)"),
  {
    label: "matrix (/sync long poll)",
    platform: "matrix",
    start: () => FakeHomeserver.start([matrixBots()[0]!]),
    section: (fake) => {
      const hs = fake as FakeHomeserver;
      const bot = hs.bot("default");
      return {
        homeserver: hs.url,
        sync_timeout_ms: 5000,
        accounts: { default: { user_id: bot.userId, access_token: bot.accessToken } },
      };
    },
    chat: (k) => ({ chatId: `!bench${k}:fake.local`, userId: `@user${k}:fake.local` }),
  },
  {
    label: "feishu (WebSocket long connection)",
    platform: "feishu",
    start: (env) => FakeFeishu.start({ gatewayUrl: env.gatewayUrl, apps: [feishuApps("websocket")[0]!] }),
    section: (fake) => feishuSection(fake as FakeFeishu),
    chat: (k) => ({ chatId: `oc_bench${k}`, userId: `on_bench${k}` }),
  },
  {
    label: "wecom (encrypted callback)",
    platform: "wecom",
    start: (env) => FakeWecom.start({ gatewayUrl: env.gatewayUrl, apps: [wecomApps()[0]!] }),
    section: (fake) => wecomSection(fake as FakeWecom),
    // A WeCom DM's chat is its member.
    chat: (k) => ({ chatId: `bench${k}`, userId: `bench${k}` }),
  },
  {
    // A short debounce: the default 1.5 s would bound each chat to one message per 1.5 s, not the adapter.
    label: "yuanbao (protobuf WebSocket, 20 ms debounce)",
    platform: "yuanbao",
    start: () => FakeYuanbao.start({ bots: [yuanbaoBots()[0]!] }),
    section: (fake) => yuanbaoSection(fake as FakeYuanbao, { debounce_ms: 20 }),
    // A private chat's id is the other person's account.
    chat: (k) => ({ chatId: `bench${k}`, userId: `bench${k}` }),
  },
];

/** A Discord section for every bot of the fake; REST pacing raised, Discord's 50/s would only slow a local fake. */
export function discordSection(fake: FakeDiscord): Record<string, unknown> {
  const accounts = Object.fromEntries(
    fake.bots.map((b) => [
      b.account,
      { api_url: fake.apiUrl, token: b.token, global_requests_per_second: 100_000 },
    ]),
  );
  return { accounts };
}

/** A Telegram section for every bot of the fake. */
export function telegramSection(fake: FakeTelegram, bots: TelegramBot[]): Record<string, unknown> {
  const accounts = Object.fromEntries(
    bots.map((b) => [b.account, { api_url: fake.url, token: b.token, poll_timeout_s: 5 }]),
  );
  return { accounts };
}

/** `count` Telegram bots, accounts `a0`…. */
export function telegramBots(count: number): TelegramBot[] {
  return Array.from({ length: count }, (_, i) => ({
    account: `a${i}`,
    token: `${900_000 + i}:bench-token-${i}`,
    id: 900_000 + i,
    username: `bench_bot_${i}`,
  }));
}

/** `count` Discord bots, accounts `a0`…. */
export function discordBots(count: number): DiscordBot[] {
  return Array.from({ length: count }, (_, i) => ({
    account: `a${i}`,
    token: `bench-discord-token-${i}`,
    id: String(100_000_000_000_000_100n + BigInt(i)),
    username: `benchbot${i}`,
  }));
}

export { createFakeDiscord, type FakeDiscord, FakeTelegram };
