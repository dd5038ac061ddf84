import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type DispatchOutcome,
  type GatewayRuntime,
  type InboundMessage,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { platform, type TelegramAdapterConfig } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram, SECOND_BOT } from "./fake-telegram.ts";

const FORUM = "-1001234";
const SUPPORT_BOT = { ...SECOND_BOT, account: "support" };

interface Running {
  fake: FakeTelegram;
  gateway: GatewayRuntime;
  store: SessionStore;
  home: string;
  outcomes: Array<{ inbound: InboundMessage; outcome: DispatchOutcome }>;
}

/** A real gateway with the echo agent and the Telegram adapter(s) of `telegram`, against the fake Bot API. */
async function startGateway(raw: {
  routes: unknown[];
  telegram: (fake: FakeTelegram) => Record<string, unknown>;
}): Promise<Running> {
  const fake = await FakeTelegram.start([DEFAULT_BOT, SUPPORT_BOT]);
  const home = mkdtempSync(join(tmpdir(), "sb-tg-gw-"));
  const config = buildConfig(
    {
      agents: { main: {}, ops: {}, support: {} },
      routes: raw.routes,
      platforms: {
        telegram: { allow_all_users: true, api_url: fake.url, poll_timeout_s: 5, ...raw.telegram(fake) },
      },
      api_server: { enabled: false },
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { telegram: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const adapters = [...(config.platformAccounts.get("telegram") ?? [])].map(([account, cfg]) =>
    platform.create(cfg as TelegramAdapterConfig, { account }),
  );
  const outcomes: Running["outcomes"] = [];
  const gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    adapters,
    onDispatch: (inbound, outcome) => outcomes.push({ inbound, outcome }),
  });
  await gateway.start();
  return { fake, gateway, store, home, outcomes };
}

describe("Telegram through the gateway", () => {
  let run: Running | undefined;
  afterEach(async () => {
    if (!run) return;
    await run.gateway.stop({ timeoutMs: 2000 });
    await run.fake.close();
    await run.store.close();
    rmSync(run.home, { recursive: true, force: true });
    run = undefined;
  });

  it("routes two topics of one forum to two agents, each reply in its own topic", async () => {
    run = await startGateway({
      routes: [
        { match: { platform: "telegram", chat_id: FORUM, thread_id: "7" }, agent: "ops" },
        { match: { platform: "telegram", chat_id: FORUM, thread_id: "8" }, agent: "support" },
      ],
      telegram: () => ({ token: DEFAULT_BOT.token }),
    });
    const { fake } = run;
    await fake.inject({
      chatType: "thread",
      chatId: FORUM,
      threadId: "7",
      userId: "42",
      text: "deploy status?",
    });
    await fake.inject({
      chatType: "thread",
      chatId: FORUM,
      threadId: "8",
      userId: "43",
      text: "refund please",
    });
    await fake.inject({ chatType: "thread", chatId: FORUM, threadId: "1", userId: "44", text: "hello all" });

    const ops = await fake.waitForSent((m) => m.text.includes("deploy status?"));
    const support = await fake.waitForSent((m) => m.text.includes("refund please"));
    const general = await fake.waitForSent((m) => m.text.includes("hello all"));
    expect(ops).toMatchObject({ chatId: FORUM, threadId: "7", text: "[ops] deploy status?" });
    expect(support).toMatchObject({ chatId: FORUM, threadId: "8", text: "[support] refund please" });
    expect(general).toMatchObject({ chatId: FORUM, text: "[main] hello all" });
    expect(general.threadId).toBeUndefined();

    const keys = run.outcomes.map((o) =>
      "sessionKey" in o.outcome ? o.outcome.sessionKey : o.outcome.status,
    );
    expect(keys).toEqual([
      `agent:ops:telegram:group:${FORUM}:7`,
      `agent:support:telegram:group:${FORUM}:8`,
      `agent:main:telegram:group:${FORUM}:1`,
    ]);
  });

  it("routes two bot accounts to two agents, each replying through its own bot", async () => {
    run = await startGateway({
      routes: [{ match: { platform: "telegram", account: "support" }, agent: "support" }],
      telegram: () => ({
        accounts: { default: { token: DEFAULT_BOT.token }, support: { token: SUPPORT_BOT.token } },
      }),
    });
    const { fake } = run;
    await fake.inject({ chatType: "dm", chatId: "42", userId: "42", text: "hi main bot" });
    await fake.inject({
      account: "support",
      chatType: "dm",
      chatId: "42",
      userId: "42",
      text: "hi support bot",
    });

    const main = await fake.waitForSent((m) => m.text.includes("hi main bot"));
    const support = await fake.waitForSent((m) => m.text.includes("hi support bot"));
    expect(main).toMatchObject({ account: "default", chatId: "42", text: "[main] hi main bot" });
    expect(support).toMatchObject({ account: "support", chatId: "42", text: "[support] hi support bot" });
    // Each reply quotes the message it answers, in that bot's own chat.
    expect((main.raw as { reply_parameters?: unknown }).reply_parameters).toMatchObject({
      message_id: expect.any(Number),
    });

    const keys = run.outcomes.map((o) =>
      "sessionKey" in o.outcome ? o.outcome.sessionKey : o.outcome.status,
    );
    expect(keys.sort()).toEqual(["agent:main:telegram:dm:42", "agent:support:telegram@support:dm:42"]);
  });

  it("answers a message whose text is a bare number on the wire, as that number's text", async () => {
    run = await startGateway({ routes: [], telegram: () => ({ token: DEFAULT_BOT.token }) });
    const { fake } = run;
    const message = fake.message({ chatType: "dm", chatId: "42", userId: "42", text: "x" });
    await fake.injectUpdate("default", { message: { ...message, text: 12345 as unknown as string } });
    const reply = await fake.waitForSent((m) => m.chatId === "42");
    expect(reply.text).toBe("[main] 12345");
    expect(run.outcomes.map((o) => o.outcome.status)).toEqual(["queued"]);
  });

  it("answers /new@botname as the /new command", async () => {
    run = await startGateway({ routes: [], telegram: () => ({ token: DEFAULT_BOT.token }) });
    const { fake } = run;
    const message = fake.message({ chatType: "group", chatId: "-555", userId: "42", text: "" });
    const text = `/new@${DEFAULT_BOT.username}`;
    await fake.injectUpdate("default", {
      message: {
        ...message,
        text,
        entities: [{ type: "bot_command", offset: 0, length: text.length }],
      } as never,
    });
    const deadline = Date.now() + 5000;
    while (!run.outcomes.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(run.outcomes[0]?.inbound.text).toBe("/new");
    expect(run.outcomes[0]?.outcome).toMatchObject({ status: "command", command: "new" });
  });
});
