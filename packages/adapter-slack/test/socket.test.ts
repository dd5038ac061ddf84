import {
  AuthError,
  type InboundMessage,
  PlatformError,
  RateLimitError,
  silentLogger,
  TransientError,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createSlackAdapter, slackConfigSchema } from "../src/index.ts";
import { FakeSlack } from "./fake-slack.ts";
import { type SlackHarness, settle, startSlack } from "./harness.ts";

let h: SlackHarness | undefined;
let fake: FakeSlack | undefined;
afterEach(async () => {
  await h?.close();
  await fake?.close();
  h = undefined;
  fake = undefined;
});

function addressOf(m: InboundMessage) {
  return {
    platform: m.platform,
    account: m.account,
    chatId: m.chat.id,
    chatType: m.chat.type,
    ...(m.threadId ? { threadId: m.threadId } : {}),
    replyToMessageId: m.messageId,
  };
}

const NO_HTTP = { route: () => {} };

describe("Slack Socket Mode", () => {
  it("receives an events_api envelope, acks it, and replies through chat.postMessage", async () => {
    h = await startSlack({ mode: "socket" });
    const ts = h.fake.nextTs();
    const body = h.fake.eventCallback("default", {
      type: "message",
      channel: "D0DM00001",
      channel_type: "im",
      user: "U0USER001",
      text: "hi socket",
      ts,
    });
    await h.fake.deliver("default", body);
    expect(h.fake.acks()).toHaveLength(1);
    const inbound = await h.waitForInbound((m) => m.text === "hi socket");
    expect(inbound).toMatchObject({
      platform: "slack",
      account: "default",
      messageId: ts,
      chat: { id: "D0DM00001", type: "dm" },
      user: { id: "U0USER001", isBot: false },
      guildId: "T0DEFAULT",
    });
    expect(inbound.threadId).toBeUndefined();

    const sent = await h.adapter.send(addressOf(inbound), { text: "**hello** back", format: "markdown" });
    const reply = await h.fake.waitForSent((m) => m.chatId === "D0DM00001");
    expect(reply).toMatchObject({ text: "*hello* back", format: "mrkdwn", account: "default" });
    expect(reply.threadId).toBeUndefined();
    expect(sent.messageId).toMatch(/^\d+\.\d+$/);
    expect(h.fake.calls("chat.postMessage")[0]?.token).toBe("xoxb-default-token");
    expect(h.fake.calls("apps.connections.open")[0]?.token).toBe("xapp-default-token");
  });

  it("replies in a thread on a channel message, and takes follow-ups in that thread without a mention", async () => {
    h = await startSlack({ mode: "socket" });
    await h.fake.inject({
      chatType: "group",
      chatId: "C0GENERAL",
      userId: "U0USER001",
      text: "summarize",
      mention: true,
    });
    const first = await h.waitForInbound((m) => m.text === "summarize");
    expect(first).toMatchObject({ mentionsBot: true, threadId: first.messageId });
    await h.adapter.send(addressOf(first), { text: "on it", format: "markdown" });
    expect(await h.fake.waitForSent((s) => s.text === "on it")).toMatchObject({
      chatId: "C0GENERAL",
      threadId: first.messageId,
    });

    await h.fake.inject({
      chatType: "thread",
      chatId: "C0GENERAL",
      threadId: first.messageId,
      userId: "U0USER002",
      text: "and the numbers?",
    });
    const followUp = await h.waitForInbound((m) => m.text === "and the numbers?");
    expect(followUp).toMatchObject({
      mentionsBot: true,
      threadId: first.messageId,
      user: { id: "U0USER002" },
    });

    await h.fake.inject({ chatType: "group", chatId: "C0GENERAL", userId: "U0USER002", text: "lunch?" });
    const chatter = await h.waitForInbound((m) => m.text === "lunch?");
    expect(chatter.mentionsBot).toBe(false);
  });

  it("dispatches a mention once although Slack sends it as message and as app_mention", async () => {
    h = await startSlack({ mode: "socket" });
    await h.fake.inject({
      chatType: "group",
      chatId: "C0GENERAL",
      userId: "U0USER001",
      text: "just once",
      mention: true,
    });
    expect(h.fake.acks()).toHaveLength(2);
    await h.waitForInbound((m) => m.text === "just once");
    await settle();
    expect(h.inbound.filter((m) => m.text === "just once")).toHaveLength(1);
  });

  it("acks a redelivered envelope of an event it already took but does not dispatch it again", async () => {
    h = await startSlack({ mode: "socket" });
    const body = h.fake.eventCallback("default", {
      type: "message",
      channel: "D0DM00001",
      channel_type: "im",
      user: "U0USER001",
      text: "redelivered",
      ts: h.fake.nextTs(),
    });
    await h.fake.deliver("default", body);
    await h.fake.deliver("default", body, { retryNum: 1 });
    expect(h.fake.acks()).toHaveLength(2);
    await settle();
    expect(h.inbound.filter((m) => m.text === "redelivered")).toHaveLength(1);
  });

  it("keeps two workspaces apart: each receives its own events and replies with its own token", async () => {
    h = await startSlack({ mode: "socket" });
    await h.fake.inject({
      account: "default",
      chatType: "dm",
      chatId: "D0AAA",
      userId: "U0A",
      text: "from A",
    });
    await h.fake.inject({
      account: "second",
      chatType: "dm",
      chatId: "D0BBB",
      userId: "U0B",
      text: "from B",
    });
    const a = await h.waitForInbound((m) => m.text === "from A");
    const b = await h.waitForInbound((m) => m.text === "from B");
    expect(a).toMatchObject({ account: "default", guildId: "T0DEFAULT" });
    expect(b).toMatchObject({ account: "second", guildId: "T0SECOND" });

    await h.adapters.get("default")!.send(addressOf(a), { text: "reply A" });
    await h.adapters.get("second")!.send(addressOf(b), { text: "reply B" });
    const posts = h.fake.calls("chat.postMessage");
    expect(posts.map((c) => [c.body.text, c.token])).toEqual([
      ["reply A", "xoxb-default-token"],
      ["reply B", "xoxb-second-token"],
    ]);
    expect(h.adapters.get("second")!.identity).toEqual({
      userId: "UBOTSECOND",
      botId: "BSECOND",
      teamId: "T0SECOND",
    });
  });

  it("edits a message through chat.update and sends plain text unformatted", async () => {
    h = await startSlack({ mode: "socket" });
    const address = {
      platform: "slack",
      account: "default",
      chatId: "C0GENERAL",
      threadId: "1700000000.000001",
    };
    const { messageId } = await h.adapter.send(address, { text: "a <b> **c**", format: "plain" });
    const sent = await h.fake.waitForSent((s) => s.chatId === "C0GENERAL");
    expect(sent).toMatchObject({ text: "a &lt;b&gt; **c**", format: "plain", threadId: "1700000000.000001" });
    await h.adapter.edit(address, messageId, { text: "**done**" });
    const update = await h.fake.waitForCall("chat.update");
    expect(update.body).toMatchObject({ channel: "C0GENERAL", ts: messageId, text: "*done*" });
  });

  it("maps a 429 to RateLimitError carrying Retry-After, without retrying inside the SDK", async () => {
    h = await startSlack({ mode: "socket" });
    h.fake.failNextSends(429, 1, 7);
    const err = await h.adapter
      .send({ platform: "slack", account: "default", chatId: "D1" }, { text: "x" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryAfterMs: 7000, retryable: true, platform: "slack" });
    expect(h.fake.calls("chat.postMessage")).toHaveLength(1);
  });

  it("maps 5xx and ok:false errors to retryable or permanent errors", async () => {
    h = await startSlack({ mode: "socket" });
    const send = () =>
      h!.adapter.send({ platform: "slack", account: "default", chatId: "D1" }, { text: "x" }).catch((e) => e);
    h.fake.failNextSends(503, 1);
    expect(await send()).toMatchObject({ name: "TransientError", status: 503, retryable: true });
    h.fake.failNextSendWithError("ratelimited");
    expect(await send()).toBeInstanceOf(RateLimitError);
    h.fake.failNextSendWithError("internal_error");
    expect(await send()).toBeInstanceOf(TransientError);
    h.fake.failNextSendWithError("invalid_auth");
    expect(await send()).toBeInstanceOf(AuthError);
    h.fake.failNextSendWithError("channel_not_found");
    const permanent = await send();
    expect(permanent).toBeInstanceOf(PlatformError);
    expect(permanent).toMatchObject({
      retryable: false,
      message: expect.stringContaining("channel_not_found"),
    });
    expect(h.fake.calls("chat.postMessage")).toHaveLength(5);
  });

  it("fails to start with AuthError on a bad bot token or a bad app token", async () => {
    fake = await FakeSlack.start({ mode: "socket" });
    const ctx = {
      logger: silentLogger(),
      signal: new AbortController().signal,
      http: NO_HTTP,
      dispatch: async () => {},
    };
    const badBot = createSlackAdapter(
      slackConfigSchema.parse({
        bot_token: "xoxb-wrong",
        app_token: "xapp-default-token",
        api_url: fake.apiUrl,
      }),
    );
    await expect(badBot.start(ctx)).rejects.toBeInstanceOf(AuthError);
    const badApp = createSlackAdapter(
      slackConfigSchema.parse({
        bot_token: "xoxb-default-token",
        app_token: "xapp-wrong",
        api_url: fake.apiUrl,
      }),
    );
    await expect(badApp.start(ctx)).rejects.toBeInstanceOf(AuthError);
    await badApp.stop();
    await badBot.stop();
  });

  it("reports an unreachable Slack as a retryable TransientError", async () => {
    fake = await FakeSlack.start({ mode: "socket" });
    const apiUrl = fake.apiUrl;
    await fake.close();
    fake = undefined;
    const adapter = createSlackAdapter(
      slackConfigSchema.parse({
        bot_token: "xoxb-default-token",
        app_token: "xapp-default-token",
        api_url: apiUrl,
      }),
    );
    const ctx = {
      logger: silentLogger(),
      signal: new AbortController().signal,
      http: NO_HTTP,
      dispatch: async () => {},
    };
    const err = await adapter.start(ctx).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain("auth.test");
  });

  it("reconnects by itself when Slack drops the socket", async () => {
    h = await startSlack({ mode: "socket" });
    h.fake.dropSockets();
    // The SDK waits one client ping timeout (5 s) before reconnecting.
    await h.fake.waitForConnection("default", 12_000);
    expect(h.fake.connections.get("default")).toBe(2);
    await h.fake.inject({
      chatType: "dm",
      chatId: "D0DM00001",
      userId: "U0USER001",
      text: "after reconnect",
    });
    await h.waitForInbound((m) => m.text === "after reconnect");
  }, 20_000);
});
