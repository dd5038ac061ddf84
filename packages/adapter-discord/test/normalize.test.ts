import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DiscordAdapter } from "../src/index.ts";
import {
  createFakeDiscord,
  DEFAULT_CHANNEL_ID,
  DEFAULT_GUILD_ID,
  type FakeDiscord,
  snowflake,
} from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

describe("Discord inbound normalization", () => {
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

  it("normalizes a guild channel message as a group chat with its guild id", async () => {
    const id = snowflake();
    await fake.inject({
      chatType: "group",
      chatId: "4100",
      guildId: "3100",
      userId: "2001",
      userName: "Alice",
      text: "hello",
      messageId: id,
    });
    const m = await rec.next();
    expect(m).toMatchObject({
      platform: "discord",
      account: "default",
      messageId: id,
      chat: { id: "4100", type: "group", name: "channel-4100" },
      guildId: "3100",
      user: { id: "2001", name: "Alice", isBot: false },
      text: "hello",
      mentionsBot: false,
      isSelf: false,
    });
    expect(m.threadId).toBeUndefined();
    expect(m.parentChatId).toBeUndefined();
    expect(Math.abs((m.timestamp ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it("receives a DM through a channel discord.js has never seen (partial channel)", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "5100",
      userId: "2002",
      userName: "Bob",
      text: "hi in private",
    });
    const m = await rec.next();
    expect(m.chat).toEqual({ id: "5100", type: "dm" });
    expect(m.guildId).toBeUndefined();
    expect(m.user).toMatchObject({ id: "2002", name: "Bob" });
    expect(m.text).toBe("hi in private");
  });

  it("normalizes a thread message: the thread id is chat and thread, its channel the parent", async () => {
    await fake.inject({
      chatType: "thread",
      chatId: "6100",
      threadId: "6100",
      parentChatId: "4200",
      guildId: DEFAULT_GUILD_ID,
      userId: "2003",
      text: "in thread",
    });
    const m = await rec.next();
    expect(m).toMatchObject({
      chat: { id: "6100", type: "thread" },
      threadId: "6100",
      parentChatId: "4200",
      guildId: DEFAULT_GUILD_ID,
      text: "in thread",
      // A thread someone else opened is not addressed to the bot by itself.
      mentionsBot: false,
    });
  });

  it("strips the bot mention from the text and flags the mention", async () => {
    await fake.inject({
      chatType: "group",
      chatId: DEFAULT_CHANNEL_ID,
      userId: "2004",
      text: "what time is it?",
      mention: true,
    });
    const m = await rec.next();
    expect(m.mentionsBot).toBe(true);
    expect(m.text).toBe("what time is it?");
  });

  it("keeps a mid-sentence mention readable as @name, and a nickname mention counts too", async () => {
    const bot = fake.bot();
    await fake.inject(
      { chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "2004", text: "" },
      {
        data: {
          content: `please ask <@!${bot.id}> about it`,
          mentions: [{ id: bot.id, username: bot.username, discriminator: "0", bot: true }],
        },
      },
    );
    const m = await rec.next();
    expect(m.mentionsBot).toBe(true);
    expect(m.text).toBe(`please ask @${bot.username} about it`);
  });

  it("counts a reply to one of the bot's messages as a mention and carries the replied text", async () => {
    const bot = fake.bot();
    const original = snowflake();
    await fake.inject(
      { chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "2005", text: "and tomorrow?" },
      {
        data: {
          type: 19,
          message_reference: {
            message_id: original,
            channel_id: DEFAULT_CHANNEL_ID,
            guild_id: DEFAULT_GUILD_ID,
          },
          referenced_message: {
            id: original,
            channel_id: DEFAULT_CHANNEL_ID,
            author: { id: bot.id, username: bot.username, discriminator: "0", bot: true },
            content: "It is sunny today.",
            timestamp: new Date().toISOString(),
            edited_timestamp: null,
            tts: false,
            mention_everyone: false,
            mentions: [],
            mention_roles: [],
            attachments: [],
            embeds: [],
            pinned: false,
            type: 0,
          },
        },
      },
    );
    const m = await rec.next();
    expect(m.mentionsBot).toBe(true);
    expect(m.replyTo).toEqual({ messageId: original, text: "It is sunny today.", fromBot: true });
  });

  it("does not flag a message that mentions someone else", async () => {
    await fake.inject(
      { chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "2006", text: "" },
      { data: { content: "hey <@999>", mentions: [{ id: "999", username: "carol", discriminator: "0" }] } },
    );
    const m = await rec.next();
    expect(m.mentionsBot).toBe(false);
    expect(m.text).toBe("hey <@999>");
  });

  it("flags the bot's own messages as self so core can ignore them", async () => {
    await fake.inject({
      chatType: "group",
      chatId: DEFAULT_CHANNEL_ID,
      userId: fake.bot().id,
      text: "my own echo",
      fromSelf: true,
    });
    const m = await rec.next();
    expect(m.isSelf).toBe(true);
    expect(m.user).toMatchObject({ id: fake.bot().id, isBot: true });
  });

  it("drops messages from other bots unless allow_bots is set", async () => {
    await fake.inject(
      { chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "7001", text: "beep from a bot" },
      { authorBot: true },
    );
    await fake.inject({ chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "2007", text: "human after" });
    const m = await rec.next((x) => x.text === "human after");
    expect(m.user.id).toBe("2007");
    expect(rec.inbound.map((x) => x.text)).toEqual(["human after"]);
  });

  it("describes attachments as media", async () => {
    await fake.inject(
      { chatType: "dm", chatId: "5200", userId: "2008", text: "look" },
      {
        data: {
          attachments: [
            {
              id: "1",
              filename: "cat.png",
              size: 10,
              url: "https://cdn.example/cat.png",
              proxy_url: "https://cdn.example/cat.png",
              content_type: "image/png",
            },
            {
              id: "2",
              filename: "notes.txt",
              size: 10,
              url: "https://cdn.example/notes.txt",
              proxy_url: "https://cdn.example/notes.txt",
            },
          ],
        },
      },
    );
    const m = await rec.next();
    expect(m.media).toEqual([
      { kind: "image", ref: "https://cdn.example/cat.png", mimeType: "image/png", name: "cat.png", size: 10 },
      { kind: "file", ref: "https://cdn.example/notes.txt", name: "notes.txt", size: 10 },
    ]);
  });
});

describe("allow_bots", () => {
  it("accepts other bots' messages when allow_bots is true, still flagged as bots", async () => {
    const fake = await createFakeDiscord();
    const adapter = adapterFor(fake, "default", { allow_bots: true });
    const rec = recordingContext();
    try {
      await adapter.start(rec.ctx);
      await fake.inject(
        { chatType: "group", chatId: DEFAULT_CHANNEL_ID, userId: "7002", text: "beep" },
        { authorBot: true },
      );
      const m = await rec.next();
      expect(m.user).toMatchObject({ id: "7002", isBot: true });
      expect(m.isSelf).toBe(false);
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });
});
