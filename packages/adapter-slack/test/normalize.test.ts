import type { InboundMessage } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { type NormalizeContext, normalizeEvent } from "../src/normalize.ts";
import { slackMessageEventSchema } from "../src/types.ts";

const BOT = { userId: "UBOT", botId: "BBOT", teamId: "T1" };
const CTX: NormalizeContext = {
  account: "work",
  identity: BOT,
  replyInThread: true,
  allowBots: false,
  teamId: "T1",
};

function normalize(event: Record<string, unknown>, ctx: Partial<NormalizeContext> = {}) {
  return normalizeEvent(slackMessageEventSchema.parse(event), { ...CTX, ...ctx });
}

function message(event: Record<string, unknown>, ctx: Partial<NormalizeContext> = {}): InboundMessage {
  const r = normalize(event, ctx);
  if ("ignored" in r) throw new Error(`expected a message, got ignored: ${r.ignored}`);
  return r.message;
}

const base = { type: "message", user: "U1", text: "hello", ts: "1700000000.000100" };

describe("normalizing Slack events", () => {
  it.each([
    ["im", "D1", "dm"],
    ["mpim", "G1", "dm"],
    ["channel", "C1", "group"],
    ["group", "G2", "group"],
  ])("maps channel_type %s to chat type %s", (channelType, channel, expected) => {
    const m = message({ ...base, channel, channel_type: channelType });
    expect(m.chat).toEqual({ id: channel, type: expected });
  });

  it("carries platform, account, ts as message id, team as guild, user and time", () => {
    const m = message({
      ...base,
      channel: "D1",
      channel_type: "im",
      team: "T9",
      user_profile: { display_name: "Ada" },
    });
    expect(m).toMatchObject({
      platform: "slack",
      account: "work",
      messageId: "1700000000.000100",
      guildId: "T9",
      user: { id: "U1", name: "Ada", isBot: false },
      text: "hello",
      timestamp: 1700000000000,
    });
  });

  it("takes the workspace from the envelope when the event has no team", () => {
    expect(message({ ...base, channel: "C1", channel_type: "channel" }).guildId).toBe("T1");
  });

  it("keeps a top-level DM out of any thread", () => {
    const m = message({ ...base, channel: "D1", channel_type: "im" });
    expect(m.threadId).toBeUndefined();
    expect(m.replyTo).toBeUndefined();
  });

  it("makes a top-level channel message the root of its own thread when replying in threads", () => {
    expect(message({ ...base, channel: "C1", channel_type: "channel" }).threadId).toBe("1700000000.000100");
  });

  it("leaves a top-level channel message threadless when reply_in_thread is off", () => {
    expect(
      message({ ...base, channel: "C1", channel_type: "channel" }, { replyInThread: false }).threadId,
    ).toBeUndefined();
  });

  it("maps thread_ts to the thread id and the thread root as the message replied to", () => {
    for (const replyInThread of [true, false]) {
      const m = message(
        {
          ...base,
          channel: "C1",
          channel_type: "channel",
          thread_ts: "1700000000.000001",
          parent_user_id: "U7",
        },
        { replyInThread },
      );
      expect(m.threadId).toBe("1700000000.000001");
      expect(m.replyTo).toEqual({ messageId: "1700000000.000001", fromBot: false });
    }
  });

  it("keeps a thread inside a DM", () => {
    const m = message({ ...base, channel: "D1", channel_type: "im", thread_ts: "1700000000.000001" });
    expect(m).toMatchObject({ chat: { type: "dm" }, threadId: "1700000000.000001" });
  });

  it("treats a thread root (thread_ts equal to ts) as a top-level message", () => {
    const m = message({ ...base, channel: "D1", channel_type: "im", thread_ts: base.ts });
    expect(m.threadId).toBeUndefined();
  });

  it("detects and strips a <@BOT> mention", () => {
    const m = message({ ...base, channel: "C1", channel_type: "channel", text: "<@UBOT> what is up" });
    expect(m.mentionsBot).toBe(true);
    expect(m.text).toBe("what is up");
    const labelled = message({
      ...base,
      channel: "C1",
      channel_type: "channel",
      text: "hey <@UBOT|switchboard>, hi",
    });
    expect(labelled).toMatchObject({ mentionsBot: true, text: "hey , hi" });
  });

  it("does not count a mention of someone else", () => {
    const m = message({ ...base, channel: "C1", channel_type: "channel", text: "<@U2> look" });
    expect(m).toMatchObject({ mentionsBot: false, text: "<@U2> look" });
  });

  it("counts an app_mention event as a mention and infers its chat type from the channel id", () => {
    const inChannel = message({ ...base, type: "app_mention", channel: "C1", text: "<@UBOT> hi" });
    expect(inChannel).toMatchObject({ mentionsBot: true, chat: { type: "group" }, text: "hi" });
    const inDm = message({ ...base, type: "app_mention", channel: "D1", text: "<@UBOT> hi" });
    expect(inDm.chat.type).toBe("dm");
  });

  it("counts a reply in a thread the bot started, or has posted in, as addressed to the bot", () => {
    const reply = message({
      ...base,
      channel: "C1",
      channel_type: "channel",
      thread_ts: "1700000000.000001",
      parent_user_id: "UBOT",
    });
    expect(reply).toMatchObject({ mentionsBot: true, replyTo: { fromBot: true } });
    const joined = message(
      {
        ...base,
        channel: "C1",
        channel_type: "channel",
        thread_ts: "1700000000.000001",
        parent_user_id: "U7",
      },
      { inBotThread: (channel, ts) => channel === "C1" && ts === "1700000000.000001" },
    );
    expect(joined.mentionsBot).toBe(true);
    const elsewhere = message(
      {
        ...base,
        channel: "C1",
        channel_type: "channel",
        thread_ts: "1700000000.000002",
        parent_user_id: "U7",
      },
      { inBotThread: (_c, ts) => ts === "1700000000.000001" },
    );
    expect(elsewhere.mentionsBot).toBe(false);
  });

  it("flags the bot's own messages as self, by bot id or by user id", () => {
    expect(message({ ...base, channel: "C1", channel_type: "channel", user: "UBOT" }).isSelf).toBe(true);
    expect(
      message({ ...base, channel: "C1", channel_type: "channel", user: undefined, bot_id: "BBOT" }).isSelf,
    ).toBe(true);
    expect(message({ ...base, channel: "C1", channel_type: "channel" }).isSelf).toBeUndefined();
  });

  it("ignores other bots unless allow_bots", () => {
    const other = { ...base, channel: "C1", channel_type: "channel", bot_id: "BOTHER", user: "UOTHER" };
    expect(normalize(other)).toEqual({ ignored: "bot" });
    expect(
      normalize({
        ...base,
        channel: "C1",
        channel_type: "channel",
        subtype: "bot_message",
        user: undefined,
        bot_id: "B9",
      }),
    ).toEqual({
      ignored: "bot",
    });
    expect(message(other, { allowBots: true }).user).toEqual({ id: "UOTHER", isBot: true });
  });

  it.each(["message_changed", "message_deleted", "channel_join", "channel_topic", "message_replied"])(
    "ignores the %s subtype",
    (subtype) => {
      expect(normalize({ ...base, channel: "C1", channel_type: "channel", subtype })).toEqual({
        ignored: "subtype",
      });
    },
  );

  it("accepts file shares with their files as media", () => {
    const m = message({
      ...base,
      subtype: "file_share",
      channel: "D1",
      channel_type: "im",
      text: "",
      files: [
        { name: "cat.png", mimetype: "image/png", url_private: "https://files.slack.com/cat.png" },
        { name: "notes.pdf", mimetype: "application/pdf" },
      ],
    });
    expect(m.media).toEqual([
      { kind: "image", ref: "https://files.slack.com/cat.png", mimeType: "image/png", name: "cat.png" },
      { kind: "file", mimeType: "application/pdf", name: "notes.pdf" },
    ]);
  });

  it("ignores events that are not messages, lack a channel or ts, or say nothing", () => {
    expect(normalize({ type: "reaction_added", user: "U1" })).toEqual({ ignored: "event-type" });
    expect(normalize({ type: "message", user: "U1", text: "x" })).toEqual({ ignored: "malformed" });
    expect(normalize({ ...base, channel: "C1", channel_type: "channel", text: "<@UBOT>" })).toEqual({
      ignored: "empty",
    });
  });

  it("turns Slack's wire text into what the user typed", () => {
    const m = message({
      ...base,
      channel: "D1",
      channel_type: "im",
      text: "a &lt;b&gt; &amp;&amp; <https://x.io/a?b=1&amp;c=2|the docs> <https://y.io> <#C123|general> <!here> &amp;lt;",
    });
    expect(m.text).toBe("a <b> && [the docs](https://x.io/a?b=1&c=2) https://y.io #general @here &lt;");
  });
});
