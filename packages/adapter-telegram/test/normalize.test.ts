import type { InboundMessage } from "@switchboard/core";
import type { Update } from "grammy/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter, normalizeUpdate, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";
import { configFor, type TestContext, testContext } from "./helpers.ts";

const BOT = { id: String(DEFAULT_BOT.id), username: DEFAULT_BOT.username };
const ALICE = { id: 42, is_bot: false, first_name: "Alice", last_name: "Liddell" };
const FORUM = { id: -1001234, type: "supergroup", title: "Team", is_forum: true } as const;
const date = 1_700_000_000;

type Msg = Record<string, unknown>;
const msg = (m: Msg): Omit<Update, "update_id"> => ({
  message: { message_id: 10, date, from: ALICE, ...m } as never,
});

/** Each row: an inbound Telegram message and what core must receive for it. */
const TABLE: Array<{
  name: string;
  update: Omit<Update, "update_id">;
  expected: Partial<InboundMessage> | undefined;
}> = [
  {
    name: "a private chat is a dm with the user's id and name",
    update: msg({ chat: { id: 42, type: "private", first_name: "Alice" }, text: "hello" }),
    expected: {
      chat: { id: "42", type: "dm", name: "Alice" },
      user: { id: "42", name: "Alice Liddell", isBot: false },
      text: "hello",
      messageId: "10",
      timestamp: date * 1000,
    },
  },
  {
    name: "a basic group is a group",
    update: msg({ chat: { id: -555, type: "group", title: "Friends" }, text: "hi all" }),
    expected: { chat: { id: "-555", type: "group", name: "Friends" }, text: "hi all" },
  },
  {
    name: "a forum topic message carries its topic as thread and topic id",
    update: msg({ chat: FORUM, message_thread_id: 77, is_topic_message: true, text: "in topic" }),
    expected: {
      chat: { id: "-1001234", type: "group", name: "Team" },
      threadId: "77",
      topicId: "77",
      text: "in topic",
    },
  },
  {
    name: "a forum message outside any topic belongs to the General topic 1",
    update: msg({ chat: FORUM, text: "general chatter" }),
    expected: { threadId: "1", topicId: "1" },
  },
  {
    name: "a reply chain in an ordinary supergroup is not a thread",
    update: msg({ chat: { id: -1009, type: "supergroup", title: "Big" }, message_thread_id: 5, text: "re" }),
    expected: { chat: { id: "-1009", type: "group", name: "Big" }, threadId: undefined },
  },
  {
    name: "an @botname mention entity sets mentionsBot and is removed from the front",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "@Switchboard_Bot what's up",
      entities: [{ type: "mention", offset: 0, length: 16 }],
    }),
    expected: { mentionsBot: true, text: "what's up" },
  },
  {
    name: "a mention of another bot does not count",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "@other_bot hi",
      entities: [{ type: "mention", offset: 0, length: 10 }],
    }),
    expected: { mentionsBot: undefined, text: "@other_bot hi" },
  },
  {
    name: "a text mention of the bot's id sets mentionsBot",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "hey Bot look",
      entities: [
        {
          type: "text_mention",
          offset: 4,
          length: 3,
          user: { id: DEFAULT_BOT.id, is_bot: true, first_name: "Bot" },
        },
      ],
    }),
    expected: { mentionsBot: true, text: "hey Bot look" },
  },
  {
    name: "a reply to the bot's message sets mentionsBot and replyTo.fromBot",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "thanks",
      reply_to_message: {
        message_id: 9,
        date,
        chat: { id: -555, type: "group", title: "Friends" },
        from: { id: DEFAULT_BOT.id, is_bot: true, first_name: "Bot" },
        text: "answer",
      },
    }),
    expected: { mentionsBot: true, replyTo: { messageId: "9", text: "answer", fromBot: true } },
  },
  {
    name: "a topic's implicit reply to its opening message is not a reply",
    update: msg({
      chat: FORUM,
      message_thread_id: 77,
      is_topic_message: true,
      text: "plain",
      reply_to_message: {
        message_id: 77,
        date,
        chat: FORUM,
        from: { id: DEFAULT_BOT.id, is_bot: true, first_name: "Bot" },
        forum_topic_created: { name: "Ops", icon_color: 1 },
      },
    }),
    expected: { replyTo: undefined, mentionsBot: undefined, threadId: "77" },
  },
  {
    name: "a command addressed to this bot loses its @botname suffix",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "/new@switchboard_bot now",
      entities: [{ type: "bot_command", offset: 0, length: 20 }],
    }),
    expected: { text: "/new now", mentionsBot: true },
  },
  {
    name: "a command addressed to another bot keeps its suffix",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      text: "/new@other_bot",
      entities: [{ type: "bot_command", offset: 0, length: 14 }],
    }),
    expected: { text: "/new@other_bot", mentionsBot: undefined },
  },
  {
    name: "the bot's own message is flagged isSelf",
    update: msg({
      chat: { id: 42, type: "private", first_name: "Alice" },
      from: { id: DEFAULT_BOT.id, is_bot: true, first_name: "Bot" },
      text: "me",
    }),
    expected: { isSelf: true, user: { id: String(DEFAULT_BOT.id), name: "Bot", isBot: true } },
  },
  {
    name: "another bot is a bot but not self",
    update: msg({
      chat: { id: -555, type: "group", title: "Friends" },
      from: { id: 999, is_bot: true, first_name: "Other" },
      text: "beep",
    }),
    expected: { isSelf: undefined, user: { id: "999", name: "Other", isBot: true } },
  },
  {
    name: "a photo with a caption carries the caption and an image",
    update: msg({
      chat: { id: 42, type: "private", first_name: "Alice" },
      photo: [{ file_id: "f", file_unique_id: "u", width: 1, height: 1 }],
      caption: "look",
    }),
    expected: { text: "look", media: [{ kind: "image", ref: "f" }] },
  },
  {
    name: "a channel post is a channel message from the channel",
    update: {
      channel_post: {
        message_id: 3,
        date,
        chat: { id: -1007, type: "channel", title: "News" },
        sender_chat: { id: -1007, type: "channel", title: "News" },
        text: "post",
      } as never,
    },
    expected: {
      chat: { id: "-1007", type: "channel", name: "News" },
      user: { id: "-1007", name: "News", isBot: false },
    },
  },
  {
    name: "a service message (topic created) is not dispatched",
    update: msg({
      chat: FORUM,
      message_thread_id: 80,
      is_topic_message: true,
      forum_topic_created: { name: "New", icon_color: 1 },
    }),
    expected: undefined,
  },
];

describe("normalizing Telegram updates", () => {
  let fake: FakeTelegram;
  let adapter: TelegramAdapter;
  let t: TestContext;

  beforeAll(async () => {
    fake = await FakeTelegram.start();
    t = testContext();
    adapter = createTelegramAdapter(configFor(fake, DEFAULT_BOT));
    await adapter.start(t.ctx);
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  it("delivers every row through long polling, normalized as the table says", async () => {
    // Each row is tagged with its update id, so rows that are dropped are visible as gaps.
    const ids: number[] = [];
    for (const row of TABLE) ids.push(await fake.injectUpdate("default", row.update));
    const expectedCount = TABLE.filter((r) => r.expected).length;
    const got = await t.waitForInbound(expectedCount);
    // Rows are delivered in order; line them up with the rows that expect a message.
    const rows = TABLE.filter((r) => r.expected);
    rows.forEach((row, i) => {
      const inbound = got[i]!;
      expect(inbound, row.name).toMatchObject({ platform: "telegram", account: "default" });
      for (const [key, value] of Object.entries(row.expected!)) {
        if (value === undefined)
          expect(inbound[key as keyof InboundMessage], `${row.name}: ${key}`).toBeUndefined();
        else expect(inbound[key as keyof InboundMessage], `${row.name}: ${key}`).toEqual(value);
      }
    });
    // The dropped service message was still confirmed: Telegram holds nothing.
    await fake.waitForCall("getUpdates", (c) => c.body.offset === ids[ids.length - 1]! + 1);
    expect(got).toHaveLength(expectedCount);
  });

  it("names the account that received the update", () => {
    const n = normalizeUpdate({ update_id: 1, ...TABLE[0]!.update } as Update, BOT, "support");
    expect(n?.account).toBe("support");
  });
});
