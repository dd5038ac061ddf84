import { AuthError, PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter, EntityParseError, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram, SECOND_BOT } from "./fake-telegram.ts";
import { configFor, testContext } from "./helpers.ts";

const DM = { platform: "telegram", account: "default", chatId: "42", chatType: "dm" as const };

describe("sending to Telegram", () => {
  let fake: FakeTelegram;
  const adapters: TelegramAdapter[] = [];
  const make = (extra: Record<string, unknown> = {}, bot = DEFAULT_BOT) => {
    const a = createTelegramAdapter(
      configFor(fake, bot, { bot_id: bot.id, bot_username: bot.username, ...extra }),
      {
        account: bot.account,
      },
    );
    adapters.push(a);
    return a;
  };
  const callsOf = (method: string) => fake.calls.filter((c) => c.method === method);

  beforeAll(async () => {
    fake = await FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]);
  });
  afterEach(() => {
    fake.calls.length = 0;
  });
  afterAll(async () => {
    for (const a of adapters) await a.stop();
    await fake?.close();
  });

  it("sends the agent's Markdown as Telegram HTML", async () => {
    const sent = await make().send(DM, { text: "**Done**: see `x < y` and [docs](https://example.com)" });
    const [call] = callsOf("sendMessage");
    expect(call?.body).toMatchObject({
      chat_id: 42,
      parse_mode: "HTML",
      text: '<b>Done</b>: see <code>x &lt; y</code> and <a href="https://example.com">docs</a>',
    });
    expect(fake.sent().at(-1)?.text).toBe("Done: see x < y and docs");
    expect(sent.messageId).toMatch(/^\d+$/);
  });

  it("resends as plain text once when Telegram cannot parse the entities", async () => {
    fake.rejectNextFormatted();
    const sent = await make().send(DM, { text: "**bold** move" });
    const calls = callsOf("sendMessage");
    expect(calls).toHaveLength(2);
    expect(calls[0]!.body.parse_mode).toBe("HTML");
    expect(calls[1]!.body).not.toHaveProperty("parse_mode");
    expect(calls[1]!.body.text).toBe("bold move");
    expect(fake.sent().at(-1)?.text).toBe("bold move");
    expect(fake.sent().at(-1)).not.toHaveProperty("format");
    expect(sent.messageId).toMatch(/^\d+$/);
  });

  it("retries plain text only once: a second entity error is thrown", async () => {
    fake.failNext(
      "sendMessage",
      400,
      2,
      undefined,
      "Bad Request: can't parse entities: Unsupported start tag",
    );
    await expect(make().send(DM, { text: "**x**" })).rejects.toBeInstanceOf(EntityParseError);
    expect(callsOf("sendMessage")).toHaveLength(2);
  });

  it("sends format: plain text as is, without a parse mode", async () => {
    await make().send(DM, { text: "**literally** <b>", format: "plain" });
    expect(callsOf("sendMessage")[0]!.body).toEqual({ chat_id: 42, text: "**literally** <b>" });
  });

  it("replies inside the forum topic, and without a thread id in the General topic", async () => {
    const a = make();
    await a.send({ ...DM, chatId: "-1001234", chatType: "group", threadId: "77" }, { text: "in topic" });
    await a.send({ ...DM, chatId: "-1001234", chatType: "group", threadId: "1" }, { text: "in general" });
    const [topic, general] = callsOf("sendMessage");
    expect(topic!.body.message_thread_id).toBe(77);
    expect(general!.body).not.toHaveProperty("message_thread_id");
    expect(fake.sent().at(-2)).toMatchObject({ chatId: "-1001234", threadId: "77" });
  });

  it("with reply_to_mode first, only the first chunk answering a message quotes it", async () => {
    const a = make({ reply_to_mode: "first" });
    const addr = { ...DM, replyToMessageId: "10" };
    await a.send(addr, { text: "part 1" });
    await a.send(addr, { text: "part 2" });
    const [one, two] = callsOf("sendMessage");
    expect(one!.body.reply_parameters).toEqual({ message_id: 10, allow_sending_without_reply: true });
    expect(two!.body).not.toHaveProperty("reply_parameters");
  });

  it("with reply_to_mode first, a failed quoting send leaves the quote for the retry", async () => {
    const a = make({ reply_to_mode: "first" });
    const addr = { ...DM, replyToMessageId: "11" };
    fake.failNextSends(500, 1);
    await expect(a.send(addr, { text: "x" })).rejects.toBeInstanceOf(TransientError);
    await a.send(addr, { text: "x" });
    expect(callsOf("sendMessage").map((c) => c.body.reply_parameters)).toEqual([
      { message_id: 11, allow_sending_without_reply: true },
      { message_id: 11, allow_sending_without_reply: true },
    ]);
  });

  it("with reply_to_mode all every chunk quotes, with off none does", async () => {
    const all = make({ reply_to_mode: "all" });
    const off = make({ reply_to_mode: "off" });
    const addr = { ...DM, replyToMessageId: "12" };
    await all.send(addr, { text: "a" });
    await all.send(addr, { text: "b" });
    await off.send(addr, { text: "c" });
    expect(callsOf("sendMessage").map((c) => "reply_parameters" in c.body)).toEqual([true, true, false]);
  });

  it("advertises 4,096 UTF-16 units, which Telegram accepts and one more it refuses", async () => {
    const a = make();
    expect(a.capabilities).toMatchObject({
      maxMessageLength: 4096,
      lengthUnit: "utf16",
      format: "html",
      edit: true,
      typing: true,
      threads: true,
    });
    // 2,048 emoji are 4,096 UTF-16 units (surrogate pairs) but only 2,048 code points.
    const full = "👍".repeat(2048);
    expect(full.length).toBe(4096);
    await a.send(DM, { text: full });
    expect(fake.sent().at(-1)?.text).toBe(full);
    const over = a.send(DM, { text: `${full}x` });
    await expect(over).rejects.toBeInstanceOf(PlatformError);
    await expect(over).rejects.toMatchObject({ retryable: false, status: 400 });
  });

  it("maps 429 to RateLimitError with Telegram's retry_after, without retrying itself", async () => {
    fake.failNextSends(429, 1, 7);
    const err = await make()
      .send(DM, { text: "hi" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(7000);
    expect(callsOf("sendMessage")).toHaveLength(1);
  });

  it.each([
    [500, TransientError],
    [502, TransientError],
    [503, TransientError],
  ] as const)("maps %i to a retryable TransientError", async (status, kind) => {
    fake.failNextSends(status, 1);
    const err = await make()
      .send(DM, { text: "hi" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(kind);
    expect((err as PlatformError).retryable).toBe(true);
    expect(callsOf("sendMessage")).toHaveLength(1);
  });

  it("maps an entity error to EntityParseError and 401 to AuthError", async () => {
    fake.failNext("editMessageText", 400, 2, undefined, "Bad Request: can't parse entities: nope");
    const a = make();
    await expect(a.edit(DM, "5", { text: "x", format: "plain" })).rejects.toBeInstanceOf(EntityParseError);
    const wrong = createTelegramAdapter(
      configFor(fake, { ...DEFAULT_BOT, token: "999:unknown" }, { bot_id: 1, bot_username: "nobody_bot" }),
    );
    adapters.push(wrong);
    await expect(wrong.send(DM, { text: "hi" })).rejects.toBeInstanceOf(AuthError);
  });

  it("maps an unreachable Bot API to TransientError", async () => {
    const offline = createTelegramAdapter(
      configFor(fake, DEFAULT_BOT, { api_url: "http://127.0.0.1:9", bot_id: 1, bot_username: "nobody_bot" }),
    );
    adapters.push(offline);
    await expect(offline.send(DM, { text: "hi" })).rejects.toBeInstanceOf(TransientError);
  });

  it("shows typing in the right topic with sendChatAction", async () => {
    await make().typing({ ...DM, chatId: "-1001234", threadId: "77" });
    expect(callsOf("sendChatAction")[0]!.body).toEqual({
      chat_id: -1001234,
      action: "typing",
      message_thread_id: 77,
    });
  });

  it("edits with editMessageText as HTML, and treats 'message is not modified' as done", async () => {
    const a = make();
    await a.edit(DM, "5", { text: "**new**" });
    expect(callsOf("editMessageText")[0]!.body).toMatchObject({
      chat_id: 42,
      message_id: 5,
      text: "<b>new</b>",
      parse_mode: "HTML",
    });
    fake.failNext(
      "editMessageText",
      400,
      1,
      undefined,
      "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
    );
    await expect(a.edit(DM, "5", { text: "**new**" })).resolves.toBeUndefined();
  });

  it("sends each account's replies with that account's own token", async () => {
    const first = make({}, DEFAULT_BOT);
    const second = make({}, SECOND_BOT);
    await first.send(DM, { text: "from default" });
    await second.send({ ...DM, account: "second" }, { text: "from second" });
    const sent = fake.sent().slice(-2);
    expect(sent.map((s) => [s.account, s.text])).toEqual([
      ["default", "from default"],
      ["second", "from second"],
    ]);
  });

  it("refuses to start with a token Telegram rejects, naming the account", async () => {
    const wrong = createTelegramAdapter(configFor(fake, { ...DEFAULT_BOT, token: "999:unknown" }), {
      account: "support",
    });
    adapters.push(wrong);
    const err = await wrong.start(testContext().ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain('telegram account "support"');
  });
});
