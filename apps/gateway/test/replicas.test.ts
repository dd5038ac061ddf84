import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStore } from "@switchboard/store-postgres";
import { createTestDatabase, type TestDatabase } from "@switchboard/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFakeDiscord, type FakeDiscord } from "../../../packages/adapter-discord/test/fake-discord.ts";
import { FakeSlack, signedPost } from "../../../packages/adapter-slack/test/fake-slack.ts";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { cli, type RunningCli, startCli } from "./cli-helpers.ts";

/**
 * Three `switchboard run` processes on one PostgreSQL database and one shared home: Telegram by long polling
 * and Discord by its gateway WebSocket (one receiver each, leased), Slack by HTTP events (any replica; a
 * delivery repeated to another replica is deduped by the database), the API on every replica, a cron job
 * every 2 s. The replica receiving Telegram and Discord is killed with `kill -9` in the middle of the burst:
 * its queued and running turns are answered by the replicas that take the accounts over, and a Slack turn it
 * had accepted by whichever replica finds the session's inbox left behind.
 */
const TELEGRAM_CHATS = 3;
const TELEGRAM_PER_CHAT = 8;
const SLACK_CHANNELS = 2;
const SLACK_PER_CHANNEL = 5;
const API_REQUESTS = 12;
const DISCORD_CHATS = 2;
const DISCORD_PER_CHAT = 8;
const LEASE_S = 3;
const TAKEOVER = "account:telegram/default: this replica receives it";
const DISCORD_TAKEOVER = "account:discord/default: this replica receives it";

let db: TestDatabase;
let telegram: FakeTelegram;
let slack: FakeSlack;
let discord: FakeDiscord;
const home = mkdtempSync(join(tmpdir(), "sb-replicas-"));
const replicas: Array<{ cli: RunningCli; url: string }> = [];

function boot(): Promise<{ cli: RunningCli; url: string }> {
  const child = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
  return child
    .waitForLog((l) => typeof l.url === "string", 30_000)
    .then(async (line) => {
      // Serving webhooks once its Slack account is mounted.
      await child.waitForLog((l) => l.msg === 'slack account "default" connected', 30_000);
      const r = { cli: child, url: String(line.url) };
      replicas.push(r);
      return r;
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns true, at most `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  telegram = await FakeTelegram.start([DEFAULT_BOT]);
  slack = await FakeSlack.start({ mode: "http" });
  discord = await createFakeDiscord();
  const ws = slack.workspaces[0]!;
  writeFileSync(
    join(home, "config.yaml"),
    `store: { kind: postgres, url: "${db.url}", pool: 4, lease_s: ${LEASE_S} }
agents:
  main: {}
api_server: { port: 0 }
log_level: info
shutdown_timeout_s: 5
cron: { min_interval_s: 1 }
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${telegram.url}
    poll_timeout_s: 1
    allow_all_users: true
  slack:
    mode: http
    bot_token: ${ws.botToken}
    signing_secret: ${ws.signingSecret}
    api_url: ${slack.apiUrl}
    allow_all_users: true
  discord:
    token: ${discord.bot().token}
    api_url: ${discord.apiUrl}
    allow_all_users: true
`,
  );
  // The first replica migrates the database; the other two find it migrated.
  await boot();
  await Promise.all([boot(), boot()]);
  const added = cli(
    ["cron", "add", "--home", home, "--agent", "main", "--schedule", "every 2s", "--prompt", "tick"],
    { SWITCHBOARD_HOME: home },
  );
  expect(added.status, added.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const r of replicas) r.cli.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.cli.exited));
  await telegram?.close();
  await slack?.close();
  await discord?.close();
  await db?.drop();
  rmSync(home, { recursive: true, force: true });
});

/** Every `tg<chat>-<n>` / `sl<chat>-<n>` token in the replies to one chat, in the order they were sent. */
function tokensIn(texts: string[], prefix: string): string[] {
  return texts.flatMap((t) => t.match(new RegExp(`${prefix}\\d+-\\d+`, "g")) ?? []);
}

function holderOfTelegram(): number {
  return holderOf(TAKEOVER);
}

function holderOf(takeover: string): number {
  // The last replica that logged taking the account over holds it.
  let best = -1;
  let at = -1;
  replicas.forEach((r, i) => {
    const hits = r.cli.lines.filter((l) => l.msg === takeover);
    const last = hits.at(-1);
    if (last && Number(last.time ?? 0) >= at) {
      at = Number(last.time ?? 0);
      best = i;
    }
  });
  return best;
}

describe("three replicas on one PostgreSQL database", () => {
  it("answers every message exactly once, in order per chat, through a kill -9 of the Telegram and Discord receiver", async () => {
    await until(() => holderOfTelegram() >= 0, 20_000, "a replica receiving Telegram");
    const receivers = replicas.filter((r) => r.cli.lines.some((l) => l.msg === TAKEOVER));
    expect(receivers).toHaveLength(1);
    // Discord: one replica holds the gateway connection (one IDENTIFY in all), the others stand by.
    await until(() => holderOf(DISCORD_TAKEOVER) >= 0, 20_000, "a replica receiving Discord");
    await discord.waitForSession("default", 20_000);
    expect(replicas.filter((r) => r.cli.lines.some((l) => l.msg === DISCORD_TAKEOVER))).toHaveLength(1);
    expect(discord.gatewayStats.get("default")!.identify).toBe(1);
    const victim = holderOfTelegram();
    // The first replica started takes both accounts; should Discord be elsewhere, its holder dies too.
    const victims = [...new Set([victim, holderOf(DISCORD_TAKEOVER)])];
    const survivors = replicas.filter((_, i) => !victims.includes(i));
    const ws = slack.workspaces[0]!;

    const sendTelegram = async (n: number, sleepMs = 0) => {
      for (let c = 0; c < TELEGRAM_CHATS; c++)
        await telegram.inject({
          chatType: "dm",
          chatId: String(9100 + c),
          userId: String(9100 + c),
          text: `tg${c}-${n}${sleepMs ? ` [[sleep:${sleepMs}]]` : ""}`,
        });
    };
    let slackTs = 1_700_000_000;
    const sendSlack = async (n: number, alive: Array<{ url: string }>) => {
      for (let c = 0; c < SLACK_CHANNELS; c++) {
        const event = slack.eventCallback("default", {
          type: "message",
          channel: `D0${c}`,
          channel_type: "im",
          user: `U0${c}`,
          text: `sl${c}-${n}`,
          ts: `${slackTs++}.000100`,
        });
        const body = JSON.stringify(event);
        // The load balancer sends a channel's events to one replica; Slack's retry of the event comes later
        // and lands on another (deduped by the database).
        const res = await signedPost(`${alive[c % alive.length]!.url}/slack/default/events`, body, {
          secret: ws.signingSecret,
        });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        retries.push({ url: alive[(c + 1) % alive.length]!.url, body });
      }
    };
    const discordChat = (c: number) => `71000000000000000${c}`;
    const sendDiscord = async (n: number, opts: { sleepMs?: number; now?: boolean } = {}) => {
      for (let c = 0; c < DISCORD_CHATS; c++)
        await discord.inject(
          {
            chatType: "dm",
            chatId: discordChat(c),
            userId: `72000000000000000${c}`,
            text: `dc${c}-${n}${opts.sleepMs ? ` [[sleep:${opts.sleepMs}]]` : ""}`,
          },
          opts.now ? { now: true } : {},
        );
    };
    const retries: Array<{ url: string; body: string }> = [];
    const sendRetries = async () => {
      for (const r of retries.splice(0)) {
        // Without retry headers: only the database's unique row can tell it was seen.
        const res = await signedPost(`${r.url}/slack/default/events`, r.body, { secret: ws.signingSecret });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    };
    const discordReplies = (c: number) =>
      discord
        .sent()
        .filter((m) => m.chatId === discordChat(c))
        .map((m) => m.text);
    const apiAnswers: string[] = [];
    const callApi = async (i: number) => {
      // A client retries on another replica when one is gone (as behind a load balancer).
      for (let attempt = 0; attempt < replicas.length; attempt++) {
        const target = replicas[(i + attempt) % replicas.length]!;
        if (target.cli.child.exitCode !== null || target.cli.child.signalCode !== null) continue;
        const client = new OpenAI({
          apiKey: "unused",
          baseURL: `${target.url}/v1`,
          maxRetries: 0,
          timeout: 10_000,
        });
        try {
          const r = await client.chat.completions.create({
            model: "main",
            messages: [{ role: "user", content: `api-${i}` }],
          });
          apiAnswers.push(r.choices[0]!.message.content ?? "");
          return;
        } catch {
          // the replica died under the request: the next one answers
        }
      }
      throw new Error(`API request ${i} was answered by no replica`);
    };

    const api = Promise.all(
      Array.from({ length: API_REQUESTS }, (_, i) => sleep(i * 150).then(() => callApi(i))),
    );
    const KILL_ROUND = TELEGRAM_PER_CHAT / 2 - 2;
    for (let n = 0; n < KILL_ROUND; n++) {
      await sendTelegram(n);
      await sendDiscord(n);
      // Webhooks go to the other replicas (the one the replica killed accepts is below).
      if (n < SLACK_PER_CHANNEL) await sendSlack(n, survivors);
      await sleep(60);
    }
    // Those are answered (and their answers recorded); then a slow turn starts in every chat, one more
    // message queues behind it, and the receiver is killed outright in the middle of both. (A kill between a
    // reply's send and its record would answer that message twice: a window of one write, not tested here.)
    await until(
      () =>
        Array.from({ length: TELEGRAM_CHATS }, (_, c) =>
          tokensIn(
            telegram
              .sent()
              .filter((m) => m.chatId === String(9100 + c))
              .map((m) => m.text),
            "tg",
          ),
        ).every((t) => t.length >= KILL_ROUND),
      20_000,
      "the first Telegram rounds answered",
    );
    await until(
      () =>
        Array.from({ length: DISCORD_CHATS }, (_, c) => tokensIn(discordReplies(c), "dc").length).every(
          (n) => n >= KILL_ROUND,
        ),
      20_000,
      "the first Discord rounds answered",
    );
    await sleep(500);
    await sendTelegram(KILL_ROUND, 3000);
    await sendDiscord(KILL_ROUND, { sleepMs: 3000 });
    if (KILL_ROUND < SLACK_PER_CHANNEL) await sendSlack(KILL_ROUND, survivors);
    // A Slack turn accepted (200) by the replica about to die, and running when it dies: nobody writes in
    // that chat again, so a survivor finds the session's inbox left behind and answers it.
    const orphan = slack.eventCallback("default", {
      type: "message",
      channel: "D09",
      channel_type: "im",
      user: "U09",
      text: "orphan-0 [[sleep:3000]]",
      ts: `${slackTs++}.000100`,
    });
    const accepted = await signedPost(
      `${replicas[victim]!.url}/slack/default/events`,
      JSON.stringify(orphan),
      {
        secret: ws.signingSecret,
      },
    );
    expect(accepted.status).toBe(200);
    await accepted.arrayBuffer();
    await sleep(300);
    await sendTelegram(KILL_ROUND + 1);
    await sendDiscord(KILL_ROUND + 1);
    if (KILL_ROUND + 1 < SLACK_PER_CHANNEL) await sendSlack(KILL_ROUND + 1, survivors);
    await sleep(300);
    const killedAt = Date.now();
    for (const v of victims) replicas[v]!.cli.kill("SIGKILL");
    await Promise.all(victims.map((v) => replicas[v]!.cli.exited));
    // Discord keeps no offset: what it sends while no replica is connected reaches nobody (a new session is
    // not given the dead one's dispatches), so these two rounds are lost, and only these.
    await until(() => !discord.connected(), 5000, "the fake Discord seeing the receiver gone");
    await sendDiscord(KILL_ROUND + 2, { now: true });
    await sendDiscord(KILL_ROUND + 3, { now: true });
    for (let n = TELEGRAM_PER_CHAT / 2; n < TELEGRAM_PER_CHAT; n++) {
      await sendTelegram(n);
      if (n < SLACK_PER_CHANNEL) await sendSlack(n, survivors);
      await sleep(60);
    }
    await api;
    await sendRetries();
    // A survivor takes Discord over (a new IDENTIFY); what is sent from then on is answered.
    await discord.waitForSession("default", LEASE_S * 1000 + 10_000);
    expect(discord.gatewayStats.get("default")!.identify).toBe(2);
    for (let n = KILL_ROUND + 4; n < DISCORD_PER_CHAT; n++) await sendDiscord(n);

    // A survivor took the account over within the lease plus a standby poll.
    await until(
      () => survivors.some((r) => r.cli.lines.some((l) => l.msg === TAKEOVER)),
      LEASE_S * 1000 + 10_000,
      "the takeover of the Telegram account",
    );
    const takenAt = Math.min(
      ...survivors.flatMap((r) => r.cli.lines.filter((l) => l.msg === TAKEOVER).map((l) => Number(l.time))),
    );
    // The lease expires (3 s without a heartbeat), then a standby's poll (every 2 s) takes it: about 5 s, and
    // within the issue's 15 s however loaded the machine is.
    expect(takenAt - killedAt).toBeLessThan(15_000);

    expect(survivors.filter((r) => r.cli.lines.some((l) => l.msg === DISCORD_TAKEOVER))).toHaveLength(1);
    const lost = Array.from({ length: DISCORD_CHATS }, (_, c) => [
      `dc${c}-${KILL_ROUND + 2}`,
      `dc${c}-${KILL_ROUND + 3}`,
    ]);
    expect(discord.missed().sort()).toEqual(lost.flat().sort());
    const discordExpected = (c: number) =>
      Array.from({ length: DISCORD_PER_CHAT }, (_, n) => `dc${c}-${n}`).filter((t) => !lost[c]!.includes(t));
    await until(
      () =>
        Array.from({ length: DISCORD_CHATS }, (_, c) => tokensIn(discordReplies(c), "dc").length).every(
          (n, c) => n >= discordExpected(c).length,
        ),
      40_000,
      "every Discord message sent to a connected replica answered",
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(Array.from({ length: DISCORD_CHATS }, (_, c) => discordReplies(c)))}; ` +
          JSON.stringify(replicas.map((r) => r.cli.lines.filter((l) => Number(l.level) >= 40).slice(-8))),
      );
    });
    await slack.waitForSent((m) => m.chatId === "D09" && m.text.includes("orphan-0"), 30_000);

    const telegramReplies = (c: number) =>
      telegram
        .sent()
        .filter((m) => m.chatId === String(9100 + c))
        .map((m) => m.text);
    await until(
      () =>
        Array.from({ length: TELEGRAM_CHATS }, (_, c) => tokensIn(telegramReplies(c), "tg").length).every(
          (n) => n >= TELEGRAM_PER_CHAT,
        ),
      40_000,
      "every Telegram message answered",
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(Array.from({ length: TELEGRAM_CHATS }, (_, c) => telegramReplies(c)))}; ` +
          JSON.stringify(replicas.map((r) => r.cli.lines.filter((l) => Number(l.level) >= 40).slice(-8))),
      );
    });
    const slackReplies = (c: number) =>
      slack
        .sent()
        .filter((m) => m.chatId === `D0${c}`)
        .map((m) => m.text);
    await until(
      () =>
        Array.from({ length: SLACK_CHANNELS }, (_, c) => tokensIn(slackReplies(c), "sl").length).every(
          (n) => n >= SLACK_PER_CHANNEL,
        ),
      30_000,
      "every Slack message answered",
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(Array.from({ length: SLACK_CHANNELS }, (_, c) => tokensIn(slackReplies(c), "sl")))}; ` +
          JSON.stringify(replicas.map((r) => r.cli.lines.filter((l) => Number(l.level) >= 40).slice(-8))),
      );
    });
    // Late duplicates would show up now.
    await sleep(1500);

    for (let c = 0; c < TELEGRAM_CHATS; c++) {
      // Exactly once each, and in the order sent.
      expect(tokensIn(telegramReplies(c), "tg")).toEqual(
        Array.from({ length: TELEGRAM_PER_CHAT }, (_, n) => `tg${c}-${n}`),
      );
    }
    for (let c = 0; c < SLACK_CHANNELS; c++) {
      expect(tokensIn(slackReplies(c), "sl"), JSON.stringify(slackReplies(c))).toEqual(
        Array.from({ length: SLACK_PER_CHANNEL }, (_, n) => `sl${c}-${n}`),
      );
    }
    // The turn the dead replica had accepted, answered once by a survivor.
    expect(
      slackReplies(9)
        .join("\n")
        .match(/orphan-0/g),
    ).toHaveLength(1);
    for (let c = 0; c < DISCORD_CHATS; c++)
      expect(tokensIn(discordReplies(c), "dc"), JSON.stringify(discordReplies(c))).toEqual(
        discordExpected(c),
      );
    expect(apiAnswers.sort()).toEqual(
      Array.from({ length: API_REQUESTS }, (_, i) => `[main] api-${i}`).sort(),
    );

    // No cron slot ran twice: runs of the every-2s job are at least a slot apart.
    const store = await openPostgresStore(db.url, { pool: 1 });
    try {
      const session = (await store.list({ agentId: "main", limit: 100 })).find((s) =>
        s.sessionKey.includes(":cron:"),
      );
      expect(session, "the cron job ran").toBeDefined();
      const runs = (await store.history(session!.id, 500))
        .filter((m) => m.role === "user")
        .map((m) => m.createdAt);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeGreaterThanOrEqual(1000);
    } finally {
      await store.close();
    }
  }, 150_000);

  it("SIGTERM releases the account's lease at once: another replica takes over before it would expire", async () => {
    const holder = holderOfTelegram();
    const before = new Map(replicas.map((r, i) => [i, r.cli.lines.filter((l) => l.msg === TAKEOVER).length]));
    const stoppedAt = Date.now();
    replicas[holder]!.cli.kill("SIGTERM");
    expect(await replicas[holder]!.cli.exited).toBe(0);
    const taken = () =>
      replicas.flatMap((r, i) =>
        i === holder ? [] : r.cli.lines.filter((l) => l.msg === TAKEOVER).slice(before.get(i)!),
      );
    await until(() => taken().length > 0, LEASE_S * 1000 + 5000, "the takeover after SIGTERM");
    // Within a standby poll (2 s) of the stop: the lease was released, not left to expire.
    expect(Number(taken()[0]!.time) - stoppedAt).toBeLessThan(2000 + 800);
    await telegram.inject({ chatType: "dm", chatId: "9200", userId: "9200", text: "after sigterm" });
    await telegram.waitForSent((m) => m.chatId === "9200" && m.text.includes("after sigterm"), 10_000);
  }, 60_000);
});
