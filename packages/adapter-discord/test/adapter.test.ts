import { AuthError, PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DiscordAdapter, platform } from "../src/index.ts";
import { createFakeDiscord, DEFAULT_CHANNEL_ID, type FakeDiscord, snowflake } from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

const address = (chatId: string, extra: Record<string, string> = {}) => ({
  platform: "discord",
  account: "default",
  chatId,
  ...extra,
});

describe("DiscordAdapter outbound", () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let rec: ReturnType<typeof recordingContext>;

  beforeEach(async () => {
    fake = await createFakeDiscord();
    adapter = adapterFor(fake);
    rec = recordingContext();
    await adapter.start(rec.ctx);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("declares Discord's capabilities as data", () => {
    expect(adapter.capabilities).toEqual({
      maxMessageLength: 2000,
      edit: true,
      typing: true,
      threads: true,
      format: "markdown",
      mediaIn: true,
      mediaOut: { maxBytes: 10 * 1024 * 1024 },
      nativeCommands: true,
    });
    expect(adapter.platform).toBe("discord");
    expect(adapter.account).toBe("default");
  });

  it("replies inside a thread, referencing the message it answers", async () => {
    await fake.inject({
      chatType: "thread",
      chatId: "6300",
      threadId: "6300",
      parentChatId: "4300",
      userId: "2001",
      text: "q",
    });
    const m = await rec.next();
    const sent = await adapter.send(
      {
        platform: "discord",
        account: "default",
        chatId: m.chat.id,
        threadId: m.threadId!,
        replyToMessageId: m.messageId,
      },
      { text: "**answer**" },
    );
    const got = await fake.waitForSent((s) => s.text === "**answer**");
    expect(got).toMatchObject({ account: "default", chatId: "6300", threadId: "6300" });
    expect(got.raw).toMatchObject({
      message_reference: { message_id: m.messageId, fail_if_not_exists: false },
      allowed_mentions: { parse: ["users"], replied_user: true },
    });
    expect(sent.messageId).toMatch(/^\d+$/);
  });

  it("sends typing and edits a sent message in place", async () => {
    await adapter.typing(address("4400"));
    const { messageId } = await adapter.send(address("4400"), { text: "draft" });
    await adapter.edit(address("4400"), messageId, { text: "final" });
    const paths = fake.calls.map((c) => `${c.method} ${c.path}`);
    expect(paths).toContain("POST /channels/4400/typing");
    expect(paths).toContain(`PATCH /channels/4400/messages/${messageId}`);
    expect(fake.calls.find((c) => c.method === "PATCH")?.body).toMatchObject({ content: "final" });
  });

  it("neutralizes @everyone and @here in what it sends", async () => {
    await adapter.send(address("4400"), { text: "hey @everyone and @here" });
    const got = await fake.waitForSent(() => true);
    expect(got.text).toBe("hey @\u200beveryone and @\u200bhere");
  });

  it("maps a 429 to RateLimitError with Discord's retry_after, without sleeping through it", async () => {
    fake.failNextSends(429, 1, 7.25);
    const started = Date.now();
    const error = await adapter.send(address("4400"), { text: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(7250);
    expect((error as RateLimitError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    // The next send goes straight through: no bucket state was left behind.
    await expect(adapter.send(address("4400"), { text: "after" })).resolves.toMatchObject({
      messageId: expect.any(String),
    });
  });

  it("maps 5xx to a retryable TransientError and does not retry it itself", async () => {
    fake.failNextSends(502, 1);
    const error = await adapter.send(address("4400"), { text: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).status).toBe(502);
    expect(
      fake.calls.filter((c) => c.method === "POST" && c.path === "/channels/4400/messages"),
    ).toHaveLength(1);
  });

  it("sends 2,000 characters and lets Discord's 2,001-character rejection surface as permanent", async () => {
    await adapter.send(address("4400"), { text: "a".repeat(2000) });
    const error = await adapter.send(address("4400"), { text: "b".repeat(2001) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).not.toBeInstanceOf(TransientError);
    expect((error as PlatformError).retryable).toBe(false);
    expect((error as PlatformError).status).toBe(400);
    expect(fake.sent().map((s) => s.text.length)).toEqual([2000]);
  });

  it("falls back to the text as given when formatting would push a full chunk past 2,000", async () => {
    const text = `@everyone ${"c".repeat(1990)}`;
    await adapter.send(address("4400"), { text });
    const got = await fake.waitForSent(() => true);
    expect(got.text).toBe(text);
    expect(got.raw).toMatchObject({ allowed_mentions: { parse: ["users"] } });
  });
});

describe("auto_thread", () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let rec: ReturnType<typeof recordingContext>;

  beforeEach(async () => {
    fake = await createFakeDiscord();
    adapter = adapterFor(fake, "default", { auto_thread: true });
    rec = recordingContext();
    await adapter.start(rec.ctx);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("opens a thread from a mentioning message and the reply lands in it", async () => {
    const id = snowflake();
    await fake.inject({
      chatType: "group",
      chatId: "4500",
      userId: "2001",
      text: "plan the launch\nwith details",
      mention: true,
      messageId: id,
    });
    const m = await rec.next();
    expect(fake.calls.find((c) => c.path === `/channels/4500/messages/${id}/threads`)?.body).toMatchObject({
      name: "plan the launch",
    });
    expect(m).toMatchObject({
      chat: { id, type: "thread" },
      threadId: id,
      parentChatId: "4500",
      text: "plan the launch\nwith details",
    });

    await adapter.send(
      {
        platform: "discord",
        account: "default",
        chatId: m.chat.id,
        threadId: m.threadId!,
        replyToMessageId: m.messageId,
      },
      { text: "on it" },
    );
    const got = await fake.waitForSent((s) => s.text === "on it");
    expect(got).toMatchObject({ chatId: id, threadId: id });
    // The thread starts from that very message, so no reference to it is added.
    expect(got.raw).not.toHaveProperty("message_reference");

    // The thread is the bot's conversation: a follow-up there needs no mention.
    await fake.inject({
      chatType: "thread",
      chatId: id,
      threadId: id,
      parentChatId: "4500",
      userId: "2001",
      text: "and the budget?",
    });
    const followUp = await rec.next((x) => x.text === "and the budget?");
    expect(followUp).toMatchObject({ chat: { id, type: "thread" }, mentionsBot: true });
  });

  it("leaves unmentioned messages, DMs and messages already in threads where they are", async () => {
    await fake.inject({ chatType: "group", chatId: "4500", userId: "2001", text: "chatter" });
    await fake.inject({ chatType: "dm", chatId: "5500", userId: "2001", text: "private", mention: true });
    await fake.inject({
      chatType: "thread",
      chatId: "6500",
      threadId: "6500",
      parentChatId: "4500",
      userId: "2001",
      text: "in thread",
      mention: true,
    });
    await rec.next((m) => m.text === "chatter");
    await rec.next((m) => m.text === "private");
    const t = await rec.next((m) => m.text === "in thread");
    expect(t.chat.id).toBe("6500");
    expect(rec.inbound.find((m) => m.text === "chatter")?.chat.type).toBe("group");
    expect(fake.calls.filter((c) => c.path.endsWith("/threads"))).toHaveLength(0);
  });

  it("reuses the thread when a message is delivered again (the thread already exists)", async () => {
    const id = snowflake();
    await fake.inject({
      chatType: "group",
      chatId: "4500",
      userId: "2001",
      text: "first",
      mention: true,
      messageId: id,
    });
    await rec.next();
    // A redelivery (e.g. replayed after a resume) must not fail: Discord answers 160004 and the id is the message's.
    await fake.inject({
      chatType: "group",
      chatId: "4501",
      userId: "2001",
      text: "again",
      mention: true,
      messageId: id,
    });
    const again = await rec.next((m) => m.text === "again");
    expect(again).toMatchObject({ chat: { id, type: "thread" }, threadId: id, parentChatId: "4501" });
  });
});

describe("accounts, errors and lifecycle", () => {
  it("runs two bot accounts side by side, each receiving and replying as itself", async () => {
    const fake = await createFakeDiscord();
    const one = adapterFor(fake, "default");
    const two = adapterFor(fake, "second");
    const rec1 = recordingContext();
    const rec2 = recordingContext();
    try {
      await Promise.all([one.start(rec1.ctx), two.start(rec2.ctx)]);
      await fake.inject({
        account: "second",
        chatType: "group",
        chatId: DEFAULT_CHANNEL_ID,
        userId: "2001",
        text: "to second",
        mention: true,
      });
      const m = await rec2.next();
      expect(m).toMatchObject({ account: "second", mentionsBot: true, text: "to second" });
      expect(rec1.inbound).toHaveLength(0);
      await two.send({ platform: "discord", account: "second", chatId: m.chat.id }, { text: "from second" });
      await one.send(
        { platform: "discord", account: "default", chatId: m.chat.id },
        { text: "from default" },
      );
      expect((await fake.waitForSent((s) => s.text === "from second")).account).toBe("second");
      expect((await fake.waitForSent((s) => s.text === "from default")).account).toBe("default");
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await fake.close();
    }
  });

  it("fails start with an AuthError when the token is rejected", async () => {
    const fake = await createFakeDiscord();
    const adapter = adapterFor(fake, "default", { token: "not-a-known-token" });
    try {
      const error = await adapter.start(recordingContext().ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toMatch(/DISCORD_BOT_TOKEN/);
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("fails start with an AuthError naming the fix when the Message Content intent is not enabled", async () => {
    const fake = await createFakeDiscord();
    fake.closeNextIdentify(4014);
    const adapter = adapterFor(fake);
    const rec = recordingContext();
    try {
      const error = await adapter.start(rec.ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toMatch(/Message Content intent/);
      expect(rec.logger.entries.map((e) => e.msg)).toContain(
        "discord gateway disconnected and will not reconnect",
      );
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("fails start with a TransientError when Discord cannot be reached", async () => {
    const fake = await createFakeDiscord();
    const apiUrl = fake.apiUrl;
    await fake.close();
    const adapter = adapterFor(fake, "default", { api_url: apiUrl });
    const error = await adapter.start(recordingContext().ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    await adapter.stop();
  });

  it("resumes after the gateway drops the connection and says so in the log", async () => {
    const fake = await createFakeDiscord();
    const adapter = adapterFor(fake);
    const rec = recordingContext();
    try {
      await adapter.start(rec.ctx);
      fake.dropConnection("default", 4000);
      await fake.inject({ chatType: "dm", chatId: "5600", userId: "2001", text: "after the drop" });
      await rec.next((m) => m.text === "after the drop");
      expect(fake.gatewayStats.get("default")).toEqual({ identify: 1, resume: 1 });
      const msgs = rec.logger.entries.map((e) => e.msg);
      expect(msgs).toContain("discord gateway reconnecting");
      expect(msgs).toContain("discord gateway resumed");
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("validates config: the token is required with a clear message, and defaults are Discord's", () => {
    const missing = platform.configSchema.safeParse({});
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]?.message).toMatch(/set DISCORD_BOT_TOKEN/);
    const parsed = platform.configSchema.parse({ token: "t" });
    expect(parsed).toMatchObject({
      require_mention: true,
      auto_thread: false,
      allow_bots: false,
      enabled: true,
      global_requests_per_second: 50,
    });
    expect(platform.configSchema.safeParse({ token: "t", tokne: "x" }).success).toBe(false);
    const created = platform.create(parsed, { account: "ops" });
    expect(created.account).toBe("ops");
  });
});
