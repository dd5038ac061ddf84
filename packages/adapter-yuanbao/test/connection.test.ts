import { AuthError } from "@switchboard/core";
import { type Host, startHost } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encode } from "../src/codec.ts";
import {
  createYuanbaoAdapter,
  type YuanbaoAdapter,
  type YuanbaoAdapterConfigInput,
  type YuanbaoTimings,
} from "../src/index.ts";
import { FakeYuanbao, parseBeijing, yuanbaoSection } from "./fake-yuanbao.ts";

/** Yuanbao's protocol at test speed. */
const FAST: Partial<YuanbaoTimings> = {
  // Slow enough that a loaded machine never misses a pong by accident; the ping test sets its own.
  pingIntervalMs: 1000,
  pongTimeoutMs: 1000,
  authTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 1000,
  reconnectBaseMs: 20,
  reconnectMaxMs: 100,
  signRetryDelayMs: 10,
  typingEveryMs: 30,
  typingIdleMs: 1000,
};

let host: Host;
let fake: FakeYuanbao;
let adapters: YuanbaoAdapter[];

beforeEach(async () => {
  host = await startHost();
  fake = await FakeYuanbao.start();
  adapters = [];
});

afterEach(async () => {
  for (const a of adapters) await a.stop();
  await fake.close();
  await host.close();
});

function configOf(account: string): YuanbaoAdapterConfigInput {
  return (yuanbaoSection(fake).accounts as Record<string, YuanbaoAdapterConfigInput>)[account]!;
}

async function startAdapter(
  opts: {
    account?: string;
    config?: Partial<YuanbaoAdapterConfigInput>;
    timings?: Partial<YuanbaoTimings>;
  } = {},
): Promise<YuanbaoAdapter> {
  const account = opts.account ?? "default";
  const adapter = createYuanbaoAdapter(
    { ...configOf(account), ...opts.config },
    { account, timings: { ...FAST, ...opts.timings } },
  );
  adapters.push(adapter);
  await adapter.start(host.ctx);
  return adapter;
}

describe("Yuanbao sign-token and auth-bind", () => {
  it("signs a token (HMAC-SHA256, Beijing time), binds with it as the bot, and receives a private message", async () => {
    const adapter = await startAdapter();
    expect(fake.signRequests).toHaveLength(1);
    const sign = fake.signRequests[0]!;
    expect(sign.code).toBe(0);
    expect(sign.body.app_key).toBe("app-default");
    expect(String(sign.body.timestamp)).toMatch(/\+08:00$/);
    expect(Math.abs(parseBeijing(String(sign.body.timestamp)) - Date.now())).toBeLessThan(5000);
    expect(sign.headers.instanceId).toBe("17");
    expect(fake.binds).toEqual([
      { account: "default", token: fake.tokens[0]!.token, uid: "bot_default", instanceId: "17", ok: true },
    ]);
    expect(adapter.botId).toBe("bot_default");

    await fake.inject({
      chatType: "dm",
      chatId: "alice",
      userId: "alice",
      userName: "Alice",
      text: "hi there",
    });
    expect(await host.waitForDispatch()).toMatchObject({
      platform: "yuanbao",
      account: "default",
      chat: { id: "alice", type: "dm", name: "Alice" },
      user: { id: "alice", name: "Alice", isBot: false },
      text: "hi there",
    });
  });

  it("fails to start with a wrong app_secret, naming what to check", async () => {
    const adapter = createYuanbaoAdapter({ ...configOf("default"), app_secret: "wrong" }, { timings: FAST });
    adapters.push(adapter);
    const err = await adapter.start(host.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/sign-token.*signature mismatch.*check app_id and app_secret/);
    expect(fake.binds).toHaveLength(0);
  });

  it("retries sign-token while Yuanbao answers busy (10099)", async () => {
    fake.busyNextSigns(2);
    await startAdapter();
    expect(fake.signRequests.map((r) => r.code)).toEqual([10099, 10099, 0]);
    expect(fake.connected()).toBe(true);
  });

  it("signs a new token and binds again when auth-bind refuses the token", async () => {
    fake.rejectNextBinds(1);
    await startAdapter();
    expect(fake.binds.map((b) => b.ok)).toEqual([false, true]);
    expect(fake.binds[1]!.token).not.toBe(fake.binds[0]!.token);
    expect(fake.signRequests).toHaveLength(2);
  });

  it("uses bot_id from the config over sign-token's", async () => {
    const adapter = await startAdapter({ config: { bot_id: "bot_default" } });
    expect(adapter.botId).toBe("bot_default");
    // A bot id the platform does not know is refused at bind, once per fresh token.
    const wrong = createYuanbaoAdapter(
      { ...configOf("second"), bot_id: "nobody" },
      { account: "second", timings: FAST },
    );
    adapters.push(wrong);
    await expect(wrong.start(host.ctx)).rejects.toThrow(/auth-bind failed.*check app_id and app_secret/);
  });
});

describe("Yuanbao connection upkeep", () => {
  it("reconnects with a freshly signed token after the server drops the connection and its token expires", async () => {
    const adapter = await startAdapter();
    fake.expireTokens("default");
    fake.closeConnection("default", 4000, "restart");
    await fake.until(() => fake.binds.filter((b) => b.ok).length === 2, 3000, "a second bind");
    const [first, second] = fake.binds.filter((b) => b.ok);
    expect(second!.token).not.toBe(first!.token);
    expect(fake.tokens.find((t) => t.token === second!.token)?.expired).toBe(false);
    await fake.until(() => adapter.connection?.connects === 2, 2000, "the adapter to see the bind");

    await fake.inject({ chatType: "dm", chatId: "bob", userId: "bob", text: "after reconnect" });
    expect((await host.waitForDispatch()).text).toBe("after reconnect");
    await adapter.send(
      { platform: "yuanbao", account: "default", chatId: "bob", chatType: "dm" },
      { text: "pong" },
    );
    expect((await fake.waitForSent((m) => m.text === "pong")).chatId).toBe("bob");
  });

  it("pings, and reconnects after two missed pongs", async () => {
    await startAdapter({ timings: { pingIntervalMs: 50, pongTimeoutMs: 250 } });
    await fake.until(() => fake.pings.filter((p) => p.answered).length >= 2, 2000, "answered pings");
    fake.silencePongs("default");
    await fake.until(() => fake.binds.length === 2, 3000, "a reconnect");
    fake.silencePongs("default", false);
    const before = fake.binds.length;
    const missed = fake.pings.filter((p) => !p.answered).length;
    expect(missed).toBeGreaterThanOrEqual(2);
    // Answered pings keep the new connection up.
    await fake.until(
      () => fake.pings.filter((p) => p.answered).length >= 6,
      2000,
      "pings on the new connection",
    );
    expect(fake.binds.length).toBe(before);
    await fake.inject({ chatType: "dm", chatId: "carol", userId: "carol", text: "still here" });
    expect((await host.waitForDispatch()).text).toBe("still here");
  });

  it("takes a pong that does not echo the ping's msg_id", async () => {
    fake.pongsWithoutId = true;
    await startAdapter({ timings: { pingIntervalMs: 50, pongTimeoutMs: 250 } });
    await fake.until(() => fake.pings.length >= 8, 3000, "eight pings");
    expect(fake.binds).toHaveLength(1);
  });

  it("stops for good on a permanent close code, with an error that says so", async () => {
    const adapter = await startAdapter();
    fake.closeConnection("default", 4014, "kicked");
    await fake.until(() => adapter.failure !== undefined, 2000, "the adapter to give up");
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.binds).toHaveLength(1);
    expect(fake.connected()).toBe(false);
    const sent = adapter.send(
      { platform: "yuanbao", account: "default", chatId: "dave", chatType: "dm" },
      { text: "x" },
    );
    await expect(sent).rejects.toMatchObject({
      retryable: false,
      message: /close code 4014.*will not reconnect/,
    });
    expect(host.logger.entries.some((e) => e.level === "error" && /4014/.test(e.msg))).toBe(true);
  });

  it("acks a push that asks for it with a PushAck of the same cmd, msg_id and module", async () => {
    await startAdapter();
    const data = encode(
      "InboundMessagePush",
      fake.pushOf({ chatType: "dm", chatId: "erin", userId: "erin", text: "ack me" }),
    );
    const acked = await fake.push("default", data, { needAck: true, cmd: "inbound_message" });
    await fake.until(() => fake.acks.length === 1, 2000, "a PushAck");
    expect(fake.acks[0]!.head).toMatchObject({
      cmd_type: 3,
      cmd: "inbound_message",
      msg_id: acked,
      module: "yuanbao_openclaw_proxy",
    });
    await host.waitForDispatch();
    await fake.push("default", data, { needAck: false, msgId: "no-ack" });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.acks).toHaveLength(1);
  });

  it("closes the connection on stop() and dispatches nothing after", async () => {
    const adapter = await startAdapter();
    await adapter.stop();
    await fake.until(() => !fake.connected(), 2000, "the close");
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.binds).toHaveLength(1);
    await host.expectNoDispatch(0);
  });
});

describe("Yuanbao pushes", () => {
  it("reads JSON pushes, in the callback format and in Tencent IM's PascalCase", async () => {
    await startAdapter();
    await fake.inject(
      { chatType: "group", chatId: "g1", userId: "frank", text: "as json", mention: true },
      { json: true },
    );
    expect(await host.waitForDispatch()).toMatchObject({
      chat: { id: "g1", type: "group" },
      user: { id: "frank" },
      text: "as json",
      mentionsBot: true,
    });
    const pascal = {
      From_Account: "gina",
      GroupId: "g2",
      MsgKey: "key-1",
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "pascal case" } }],
    };
    await fake.push("default", Buffer.from(JSON.stringify(pascal)));
    const inbound = await host.waitForDispatch((m) => m.messageId === "key-1");
    expect(inbound).toMatchObject({
      chat: { id: "g2", type: "group" },
      user: { id: "gina" },
      text: "pascal case",
    });
    expect(inbound.mentionsBot).toBeUndefined();
  });

  it("joins pushes one sender makes within the debounce window, once per msg_id", async () => {
    await startAdapter({ config: { debounce_ms: 400 } });
    const first = fake.pushOf({
      chatType: "dm",
      chatId: "hana",
      userId: "hana",
      text: "part one",
      messageId: "m1",
    });
    const second = fake.pushOf({
      chatType: "dm",
      chatId: "hana",
      userId: "hana",
      text: "part two",
      messageId: "m2",
    });
    await fake.push("default", encode("InboundMessagePush", first));
    await fake.push("default", encode("InboundMessagePush", first));
    await fake.push("default", encode("InboundMessagePush", second));
    const inbound = await host.waitForDispatch();
    expect(inbound.messageId).toBe("m1");
    expect(inbound.text).toBe("part one\npart two");
    await host.expectNoDispatch(1, 500);
  });

  it("ignores recalls", async () => {
    await startAdapter();
    const recall = {
      callback_command: "Group.CallbackAfterRecallMsg",
      from_account: "ivan",
      group_code: "g3",
      recall_msg_seq_list: [{ msg_seq: 7, msg_id: "m-old" }],
    };
    await fake.push("default", encode("InboundMessagePush", recall));
    await host.expectNoDispatch(0, 200);
  });

  it("hands core the push's msg_id, so a redelivery is deduplicated there", async () => {
    await startAdapter();
    const push = fake.pushOf({
      chatType: "dm",
      chatId: "jack",
      userId: "jack",
      text: "once",
      messageId: "dup-1",
    });
    await fake.push("default", encode("InboundMessagePush", push));
    await host.waitForDispatch();
    await fake.push("default", encode("InboundMessagePush", push));
    await fake.until(() => host.dispatched.length === 2, 2000, "the redelivery");
    expect(host.dispatched.map((m) => m.messageId)).toEqual(["dup-1", "dup-1"]);
  });
});

describe("Yuanbao replies", () => {
  const group = { platform: "yuanbao", account: "default", chatId: "g9", chatType: "group" as const };

  it("quotes the message it answers in groups (first part only), never in private chats", async () => {
    const adapter = await startAdapter();
    await adapter.send({ ...group, replyToMessageId: "m-q" }, { text: "one", part: { index: 0, count: 2 } });
    await adapter.send({ ...group, replyToMessageId: "m-q" }, { text: "two", part: { index: 1, count: 2 } });
    await adapter.send(
      { platform: "yuanbao", account: "default", chatId: "kim", chatType: "dm", replyToMessageId: "m-d" },
      { text: "private" },
    );
    const reqs = fake.requests.map((r) => ({ cmd: r.cmd, ref: r.req.ref_msg_id, from: r.req.from_account }));
    expect(reqs).toEqual([
      { cmd: "send_group_message", ref: "m-q", from: "bot_default" },
      { cmd: "send_group_message", ref: "", from: "bot_default" },
      { cmd: "send_c2c_message", ref: undefined, from: "bot_default" },
    ]);
    expect(fake.sent().map((s) => [s.chatId, s.text])).toEqual([
      ["g9", "one"],
      ["g9", "two"],
      ["kim", "private"],
    ]);
  });

  it("sends a group reply to a group it has seen even without a chat type (cron delivery)", async () => {
    const adapter = await startAdapter();
    await fake.inject({ chatType: "group", chatId: "g-seen", userId: "lee", text: "hello", mention: true });
    await host.waitForDispatch();
    await adapter.send({ platform: "yuanbao", account: "default", chatId: "g-seen" }, { text: "report" });
    expect(fake.requests.at(-1)?.cmd).toBe("send_group_message");
  });

  it("shows typing as RUNNING heartbeats and ends them with FINISH after the last part", async () => {
    const adapter = await startAdapter();
    await adapter.typing(group);
    await fake.until(() => fake.heartbeats.length >= 3, 2000, "RUNNING heartbeats");
    await adapter.send(group, { text: "a", part: { index: 0, count: 2 } });
    expect(fake.heartbeats.some((h) => h.state === 2)).toBe(false);
    await adapter.send(group, { text: "b", part: { index: 1, count: 2 } });
    await fake.until(() => fake.heartbeats.some((h) => h.state === 2), 2000, "FINISH");
    const states = fake.heartbeats.map((h) => [h.cmd, h.to, h.state]);
    expect(states.at(-1)).toEqual(["send_group_heartbeat", "g9", 2]);
    expect(
      states.slice(0, -1).every(([cmd, to, s]) => cmd === "send_group_heartbeat" && to === "g9" && s === 1),
    ).toBe(true);
    // Private chats use the private heartbeat; without refreshes it finishes on its own.
    await adapter.typing({ platform: "yuanbao", account: "default", chatId: "mia", chatType: "dm" });
    await fake.until(
      () =>
        fake.heartbeats.some((h) => h.cmd === "send_private_heartbeat" && h.to === "mia" && h.state === 2),
      2000,
      "a FINISH after typing stopped being refreshed",
    );
  });

  it("maps a refused send onto core's errors: 429 → rate limit, 5xx → transient", async () => {
    const adapter = await startAdapter();
    fake.failNextSends(429, 1);
    fake.failNextSends(503, 1);
    const dm = { platform: "yuanbao", account: "default", chatId: "ned", chatType: "dm" as const };
    await expect(adapter.send(dm, { text: "x" })).rejects.toMatchObject({
      name: "RateLimitError",
      retryAfterMs: 1000,
    });
    await expect(adapter.send(dm, { text: "x" })).rejects.toMatchObject({
      name: "TransientError",
      retryable: true,
    });
    await expect(adapter.send(dm, { text: "x" })).resolves.toMatchObject({ messageId: expect.any(String) });
  });
});
