import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MatrixAdapter } from "../src/index.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { type Harness, startAdapter } from "./helpers.ts";

const ALICE = "@alice:fake.local";
let fake: FakeHomeserver;
let adapters: MatrixAdapter[] = [];

async function start(account = "default", overrides = {}): Promise<Harness> {
  const h = await startAdapter(fake, account, overrides);
  adapters.push(h.adapter);
  return h;
}

beforeEach(async () => {
  fake = await FakeHomeserver.start();
});
afterEach(async () => {
  for (const a of adapters) await a.stop();
  adapters = [];
  await fake.close();
});

describe("normalization", () => {
  it("normalizes a two-member room as a dm with the sender's display name", async () => {
    const h = await start();
    await fake.inject({
      chatType: "dm",
      chatId: "!dm1:fake.local",
      userId: ALICE,
      userName: "Alice",
      text: "hello",
      messageId: "$m1",
    });
    const m = await h.next();
    expect(m).toMatchObject({
      platform: "matrix",
      account: "default",
      messageId: "$m1",
      chat: { id: "!dm1:fake.local", type: "dm" },
      user: { id: ALICE, name: "Alice" },
      text: "hello",
      mentionsBot: false,
    });
    expect(m.threadId).toBeUndefined();
    expect(m.timestamp).toBeGreaterThan(Date.now() - 60_000);
  });

  it("normalizes a room with more members as a group with its name", async () => {
    const h = await start();
    await fake.inject({ chatType: "group", chatId: "!g1:fake.local", userId: ALICE, text: "hi all" });
    const m = await h.next();
    expect(m.chat).toEqual({ id: "!g1:fake.local", type: "group", name: "Room !g1:fake.local" });
  });

  it("treats a room listed in the bot's m.direct account data as a dm even with more members", async () => {
    fake.rooms.create({
      id: "!direct:fake.local",
      creator: ALICE,
      members: [{ userId: fake.bot().userId }, { userId: "@bob:fake.local" }],
    });
    fake.rooms.setAccountData(fake.bot().userId, "m.direct", { [ALICE]: ["!direct:fake.local"] });
    const h = await start();
    fake.deliverRaw("default", "!direct:fake.local", {
      type: "m.room.message",
      sender: ALICE,
      content: { msgtype: "m.text", body: "psst" },
    });
    expect((await h.next()).chat.type).toBe("dm");
  });

  it("turns an m.thread relation into the thread root id", async () => {
    const h = await start();
    await fake.inject({
      chatType: "thread",
      chatId: "!g2:fake.local",
      threadId: "$root",
      userId: ALICE,
      text: "in thread",
    });
    const m = await h.next();
    expect(m).toMatchObject({
      chat: { id: "!g2:fake.local", type: "group" },
      threadId: "$root",
      text: "in thread",
    });
    expect(m.replyTo).toBeUndefined();
  });

  it("marks mentions from m.mentions, a pill, the display name or the user id, and strips a leading mention", async () => {
    const h = await start();
    const bot = fake.bot();
    await fake.inject({
      chatType: "group",
      chatId: "!g3:fake.local",
      userId: ALICE,
      text: "/new",
      mention: true,
      messageId: "$a",
    });
    expect(await h.next((m) => m.messageId === "$a")).toMatchObject({ mentionsBot: true, text: "/new" });

    const send = (body: string, extra: Record<string, unknown> = {}) =>
      fake.deliverRaw("default", "!g3:fake.local", {
        type: "m.room.message",
        sender: ALICE,
        content: { msgtype: "m.text", body, ...extra },
      });
    const byName = send("hey switchbot, status?");
    const byId = send(`ping ${bot.userId}`);
    const intentionalOther = send("switchbot is mentioned only in text", {
      "m.mentions": { user_ids: ["@bob:fake.local"] },
    });
    const none = send("nothing for the bot");
    expect((await h.next((m) => m.messageId === byName)).mentionsBot).toBe(true);
    expect((await h.next((m) => m.messageId === byId)).mentionsBot).toBe(true);
    expect((await h.next((m) => m.messageId === intentionalOther)).mentionsBot).toBe(false);
    expect((await h.next((m) => m.messageId === none)).mentionsBot).toBe(false);
  });

  it("reports a reply to the bot as a mention, with the replied text and without the quote fallback", async () => {
    const h = await start();
    await fake.inject({ chatType: "group", chatId: "!g4:fake.local", userId: ALICE, text: "first" });
    await h.next();
    const { messageId } = await h.adapter.send(
      { platform: "matrix", account: "default", chatId: "!g4:fake.local" },
      { text: "bot says" },
    );
    await fake.delivered();
    const reply = fake.deliverRaw("default", "!g4:fake.local", {
      type: "m.room.message",
      sender: ALICE,
      content: {
        msgtype: "m.text",
        body: `> <${fake.bot().userId}> bot says\n\nthanks`,
        "m.relates_to": { "m.in_reply_to": { event_id: messageId } },
      },
    });
    const m = await h.next((x) => x.messageId === reply);
    expect(m).toMatchObject({
      text: "thanks",
      mentionsBot: true,
      replyTo: { messageId, fromBot: true, text: "bot says" },
    });
  });

  it("marks m.notice senders as bots and delivers images as media and skips edits and other event types", async () => {
    const h = await start();
    await fake.inject({ chatType: "group", chatId: "!g5:fake.local", userId: ALICE, text: "hi" });
    await h.next();
    const room = "!g5:fake.local";
    fake.deliverRaw("default", room, {
      type: "m.room.message",
      sender: ALICE,
      content: { msgtype: "m.image", body: "cat.png", url: "mxc://x/y" },
    });
    fake.deliverRaw("default", room, {
      type: "m.room.message",
      sender: ALICE,
      content: {
        msgtype: "m.text",
        body: "* fixed",
        "m.new_content": { msgtype: "m.text", body: "fixed" },
        "m.relates_to": { rel_type: "m.replace", event_id: "$x" },
      },
    });
    fake.deliverRaw("default", room, {
      type: "m.reaction",
      sender: ALICE,
      content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$x", key: "👍" } },
    });
    const notice = fake.deliverRaw("default", room, {
      type: "m.room.message",
      sender: "@otherbot:fake.local",
      content: { msgtype: "m.notice", body: "beep" },
    });
    const m = await h.next((x) => x.messageId === notice);
    expect(m.user).toMatchObject({ id: "@otherbot:fake.local", isBot: true });
    await fake.delivered();
    // The image arrives as its file (no caption); the edit and the reaction do not.
    expect(h.inbound.map((x) => x.text)).toEqual(["hi", "", "beep"]);
    expect(h.inbound[1]?.media).toEqual([{ kind: "image", ref: "mxc://x/y", name: "cat.png" }]);
  });
});

describe("what the bot ignores", () => {
  it("ignores its own events, the initial sync's history and events stamped before start-up", async () => {
    fake.rooms.ignoreInitialTimelineLimit = true;
    fake.rooms.create({
      id: "!old:fake.local",
      creator: ALICE,
      members: [{ userId: fake.bot().userId }, { userId: "@bob:fake.local" }],
    });
    fake.rooms.addHistory("!old:fake.local", {
      type: "m.room.message",
      event_id: "$history",
      sender: ALICE,
      origin_server_ts: Date.now(),
      content: { msgtype: "m.text", body: "said before start" },
    });
    const h = await start();
    await fake.inject({
      chatType: "group",
      chatId: "!old:fake.local",
      userId: ALICE,
      text: "mine",
      fromSelf: true,
    });
    fake.deliverRaw("default", "!old:fake.local", {
      type: "m.room.message",
      sender: ALICE,
      origin_server_ts: Date.now() - 3_600_000,
      content: { msgtype: "m.text", body: "an hour old" },
    });
    await fake.inject({
      chatType: "group",
      chatId: "!old:fake.local",
      userId: ALICE,
      text: "fresh",
      messageId: "$fresh",
    });
    await h.next((m) => m.messageId === "$fresh");
    await fake.delivered();
    expect(h.inbound.map((m) => m.text)).toEqual(["fresh"]);
  });
});
