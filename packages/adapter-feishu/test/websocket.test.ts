import { AuthError } from "@switchboard/core";
import { type Host, startHost } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFeishuAdapter, type FeishuAdapter, type FeishuAdapterConfigInput } from "../src/index.ts";
import { FakeFeishu, feishuSection } from "./fake-feishu.ts";

let host: Host;
let fake: FakeFeishu;
let adapters: FeishuAdapter[];

beforeEach(async () => {
  host = await startHost();
  fake = await FakeFeishu.start({ gatewayUrl: host.url, mode: "websocket" });
  adapters = [];
});

afterEach(async () => {
  for (const a of adapters) await a.stop();
  await fake.close();
  await host.close();
});

function configOf(account: string): FeishuAdapterConfigInput {
  return (feishuSection(fake).accounts as Record<string, FeishuAdapterConfigInput>)[account]!;
}

async function startAdapter(
  account = "default",
  overrides: Partial<FeishuAdapterConfigInput> = {},
): Promise<FeishuAdapter> {
  const adapter = createFeishuAdapter({ ...configOf(account), ...overrides }, { account });
  adapters.push(adapter);
  await adapter.start(host.ctx);
  return adapter;
}

describe("Feishu long connection", () => {
  it("connects, learns the bot's open_id, receives an event and acks it, and replies through the OpenAPI", async () => {
    const adapter = await startAdapter();
    expect(fake.connected()).toBe(true);
    expect(adapter.bot).toEqual({ openId: "ou_bot_default", name: "Bot default" });
    const endpoint = fake.calls.find((c) => c.path === "/callback/ws/endpoint");
    expect(endpoint?.body).toMatchObject({ AppID: "cli_a1b2c3d4e5f60710", AppSecret: "secret-default" });

    await fake.inject({
      chatType: "group",
      chatId: "oc_g1",
      userId: "alice",
      text: "hello over ws",
      mention: true,
      messageId: "om_in1",
    });
    const inbound = await host.waitForDispatch();
    expect(inbound).toMatchObject({
      platform: "feishu",
      account: "default",
      messageId: "om_in1",
      chat: { id: "oc_g1", type: "group" },
      user: { id: "ou_alice", isBot: false },
      text: "hello over ws",
      mentionsBot: true,
    });

    await adapter.send(
      { platform: "feishu", account: "default", chatId: "oc_g1", replyToMessageId: "om_in1" },
      { text: "echo" },
    );
    const sent = await fake.waitForSent(() => true);
    expect(sent).toMatchObject({ account: "default", chatId: "oc_g1", text: "echo" });
    expect(fake.calls.some((c) => c.path === "/open-apis/im/v1/messages/om_in1/reply")).toBe(true);
  });

  it("handles a redelivered event once", async () => {
    await startAdapter();
    const envelope = fake.receiveEvent({ chatType: "dm", chatId: "oc_dm", userId: "bob", text: "once" });
    await fake.sendWsEvent("default", envelope);
    await fake.sendWsEvent("default", envelope);
    await host.waitForDispatch();
    await host.expectNoDispatch(1);
  });

  it("closes the connection on stop() and dispatches nothing after", async () => {
    const adapter = await startAdapter();
    await adapter.stop();
    const deadline = Date.now() + 2000;
    while (fake.connected() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fake.connected()).toBe(false);
    await expect(
      fake.sendWsEvent(
        "default",
        fake.receiveEvent({ chatType: "dm", chatId: "c", userId: "u", text: "late" }),
        300,
      ),
    ).rejects.toThrow();
    await host.expectNoDispatch(0);
  });

  it("fails to start with wrong app credentials", async () => {
    const adapter = createFeishuAdapter({ ...configOf("default"), app_secret: "wrong" });
    adapters.push(adapter);
    await expect(adapter.start(host.ctx)).rejects.toBeInstanceOf(AuthError);
  });

  it("keeps two apps on their own connections, tokens and accounts", async () => {
    const one = await startAdapter("default");
    const two = await startAdapter("second");
    expect(fake.connected("default") && fake.connected("second")).toBe(true);
    await fake.inject({
      account: "second",
      chatType: "dm",
      chatId: "oc_dm2",
      userId: "carol",
      text: "to second",
    });
    expect(await host.waitForDispatch()).toMatchObject({
      account: "second",
      chat: { id: "oc_dm2", type: "dm" },
    });
    await two.send({ platform: "feishu", account: "second", chatId: "oc_dm2" }, { text: "from second" });
    await one.send({ platform: "feishu", account: "default", chatId: "oc_dm1" }, { text: "from default" });
    expect(fake.sent().map((s) => [s.account, s.chatId, s.text])).toEqual([
      ["second", "oc_dm2", "from second"],
      ["default", "oc_dm1", "from default"],
    ]);
    expect(new Set(fake.tokens().map((t) => t.account))).toEqual(new Set(["default", "second"]));
  });
});
