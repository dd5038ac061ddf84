import { AuthError, RateLimitError, TransientError } from "@switchboard/core";
import { type Host, startHost } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFeishuAdapter,
  type FeishuAdapter,
  type FeishuAdapterConfigInput,
  toPlatformError,
} from "../src/index.ts";
import { defaultApps, FakeFeishu, feishuSection } from "./fake-feishu.ts";

let host: Host;
let fake: FakeFeishu;
let adapters: FeishuAdapter[];

beforeEach(async () => {
  host = await startHost();
  fake = await FakeFeishu.start({ gatewayUrl: host.url, mode: "webhook" });
  adapters = [];
});

afterEach(async () => {
  for (const a of adapters) await a.stop();
  await fake.close();
  await host.close();
});

function configOf(f: FakeFeishu, account: string): FeishuAdapterConfigInput {
  return (feishuSection(f).accounts as Record<string, FeishuAdapterConfigInput>)[account]!;
}

async function startAdapter(account = "default", f: FakeFeishu = fake): Promise<FeishuAdapter> {
  const adapter = createFeishuAdapter(configOf(f, account), { account });
  adapters.push(adapter);
  await adapter.start(host.ctx);
  return adapter;
}

const at = (chatId: string, extra: Record<string, string> = {}) => ({
  platform: "feishu",
  account: "default",
  chatId,
  ...extra,
});

describe("Feishu replies", () => {
  it("replies to the triggering message, in its thread when it has one", async () => {
    const adapter = await startAdapter();
    await fake.inject({
      chatType: "thread",
      chatId: "oc_g",
      threadId: "om_root",
      userId: "a",
      text: "in thread",
      messageId: "om_t1",
    });
    const inbound = await host.waitForDispatch();
    expect(inbound).toMatchObject({ chat: { id: "oc_g", type: "group" }, threadId: "om_root" });
    await adapter.send(at("oc_g", { threadId: "om_root", replyToMessageId: "om_t1" }), { text: "first" });
    // Later chunks carry no message to reply to: they go to the thread's root, in the thread.
    await adapter.send(at("oc_g", { threadId: "om_root" }), { text: "second" });
    const replies = fake.calls.filter((c) => c.path.endsWith("/reply"));
    expect(replies.map((c) => [c.path, (c.body as { reply_in_thread?: boolean }).reply_in_thread])).toEqual([
      ["/open-apis/im/v1/messages/om_t1/reply", true],
      ["/open-apis/im/v1/messages/om_root/reply", true],
    ]);
    expect(fake.sent().map((s) => [s.chatId, s.threadId, s.text])).toEqual([
      ["oc_g", "om_root", "first"],
      ["oc_g", "om_root", "second"],
    ]);
  });

  it("posts to the chat when there is nothing to reply to", async () => {
    const adapter = await startAdapter();
    const sent = await adapter.send(at("oc_proactive"), { text: "cron says hi" });
    expect(sent.messageId).toMatch(/^om_sent_/);
    expect(fake.calls.at(-1)).toMatchObject({
      method: "POST",
      path: "/open-apis/im/v1/messages",
      query: { receive_id_type: "chat_id" },
      body: {
        receive_id: "oc_proactive",
        msg_type: "text",
        content: JSON.stringify({ text: "cron says hi" }),
      },
    });
  });

  it("sends Markdown as a post and falls back to plain text when the post is refused", async () => {
    const adapter = await startAdapter();
    await adapter.send(at("oc_1"), { text: "**Done**: see [docs](https://x.test)", format: "markdown" });
    expect(fake.sent()[0]).toMatchObject({ format: "post", text: "Done: see docs" });
    fake.rejectNextFormatted();
    await adapter.send(at("oc_1"), { text: "**Again**: see [docs](https://x.test)", format: "markdown" });
    expect(fake.sent()[1]).toMatchObject({ text: "Again: see docs (https://x.test)" });
    expect(fake.sent()[1]?.format).toBeUndefined();
  });

  it("edits a sent message with im.message.update", async () => {
    const adapter = await startAdapter();
    const { messageId } = await adapter.send(at("oc_1"), { text: "draft" });
    await adapter.edit(at("oc_1"), messageId, { text: "final **answer**" });
    expect(fake.edits()).toEqual([{ account: "default", messageId, msgType: "post", text: "final answer" }]);
  });

  it("counts a reply to one of the bot's messages as addressing it", async () => {
    const adapter = await startAdapter();
    const { messageId } = await adapter.send(at("oc_g"), { text: "question?" });
    const envelope = fake.receiveEvent({
      chatType: "group",
      chatId: "oc_g",
      userId: "a",
      text: "answer",
    }) as {
      event: { message: Record<string, string> };
    };
    envelope.event.message.parent_id = messageId;
    envelope.event.message.root_id = messageId;
    await fake.deliver("default", envelope);
    expect(await host.waitForDispatch()).toMatchObject({ replyTo: { messageId, fromBot: true } });
  });
});

describe("Feishu errors and tokens", () => {
  it("maps 429 to RateLimitError with the reset time, and 5xx to TransientError", async () => {
    const adapter = await startAdapter();
    fake.failNextSends(429, 1, 3);
    const limited = await adapter.send(at("oc_1"), { text: "x" }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).toBe(3000);
    fake.failNextSends(503, 1);
    await expect(adapter.send(at("oc_1"), { text: "x" })).rejects.toBeInstanceOf(TransientError);
    await adapter.send(at("oc_1"), { text: "x" });
    expect(fake.sent()).toHaveLength(1);
  });

  it("maps error codes and network failures", () => {
    expect(toPlatformError({ action: "send", status: 400, code: 99991400 })).toBeInstanceOf(RateLimitError);
    expect(toPlatformError({ action: "send", status: 400, code: 99991663 })).toBeInstanceOf(AuthError);
    expect(toPlatformError({ action: "send", code: 99991672 })).toMatchObject({
      name: "AuthError",
      status: 403,
    });
    expect(
      toPlatformError(new Error("failed to get tenant_access_token, code: 10014, msg: app secret invalid")),
    ).toBeInstanceOf(AuthError);
    expect(
      toPlatformError(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })),
    ).toBeInstanceOf(TransientError);
    expect(toPlatformError({ action: "send", status: 400, code: 230001 })).toMatchObject({
      name: "PlatformError",
      retryable: false,
    });
  });

  it("fetches a new tenant token and retries once when Feishu stops accepting the cached one", async () => {
    const adapter = await startAdapter();
    await adapter.send(at("oc_1"), { text: "before" });
    const tokenCalls = () =>
      fake.calls.filter((c) => c.path === "/open-apis/auth/v3/tenant_access_token/internal").length;
    expect(tokenCalls()).toBe(1);
    fake.expireTokens("default");
    await adapter.send(at("oc_1"), { text: "after" });
    expect(tokenCalls()).toBe(2);
    expect(fake.sent().map((s) => s.text)).toEqual(["before", "after"]);
  });

  it("caches the tenant token per account, never across accounts", async () => {
    // Two accounts of the same app on two different tenants (fakes): with the SDK's module-global cache the
    // second would reuse the first one's token.
    const other = await FakeFeishu.start({ gatewayUrl: host.url, apps: defaultApps("webhook") });
    try {
      const one = await startAdapter("default", fake);
      const adapter2 = createFeishuAdapter(configOf(other, "default"), { account: "mirror" });
      adapters.push(adapter2);
      await adapter2.start({ ...host.ctx, http: { route: () => {} } });
      await one.send(at("oc_1"), { text: "one" });
      await adapter2.send({ platform: "feishu", account: "mirror", chatId: "oc_2" }, { text: "two" });
      expect(fake.tokens()).toHaveLength(1);
      expect(other.tokens()).toHaveLength(1);
      expect(other.sent()).toMatchObject([{ chatId: "oc_2", text: "two" }]);
      const authOf = (f: FakeFeishu) => new Set(f.calls.filter((c) => c.auth).map((c) => c.auth));
      expect(authOf(fake)).toEqual(new Set([`Bearer ${fake.tokens()[0]!.token}`]));
      expect(authOf(other)).toEqual(new Set([`Bearer ${other.tokens()[0]!.token}`]));
      // Each account also keeps reusing its own token: one fetch each for several calls.
      await one.send(at("oc_1"), { text: "one again" });
      expect(fake.tokens()).toHaveLength(1);
    } finally {
      for (const a of adapters.splice(0)) await a.stop();
      await other.close();
    }
  });

  it("declares its capabilities", async () => {
    const adapter = await startAdapter();
    expect(adapter.capabilities).toEqual({
      maxMessageLength: 4000,
      edit: true,
      typing: false,
      threads: true,
      format: "markdown",
      mediaIn: true,
      mediaOut: { maxBytes: 30 * 1024 * 1024 },
      nativeCommands: false,
    });
  });
});
