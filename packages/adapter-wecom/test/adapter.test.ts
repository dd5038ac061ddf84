import { AuthError, RateLimitError, TransientError } from "@switchboard/core";
import { type Host, startHost } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  aesKeyOf,
  createWecomAdapter,
  encrypt,
  platform,
  signature,
  type WecomAdapter,
  type WecomAdapterConfigInput,
  wecomConfigSchema,
} from "../src/index.ts";
import { cdata } from "../src/xml.ts";
import { FakeWecom, signedCallback, textMessageXml, wecomSection } from "./fake-wecom.ts";

let host: Host;
let fake: FakeWecom;
let adapters: WecomAdapter[];

beforeEach(async () => {
  host = await startHost();
  fake = await FakeWecom.start({ gatewayUrl: host.url });
  adapters = [];
});

afterEach(async () => {
  for (const a of adapters) await a.stop();
  await host.close();
  await fake.close();
});

function configOf(account: string): WecomAdapterConfigInput {
  return (wecomSection(fake).accounts as Record<string, WecomAdapterConfigInput>)[account]!;
}

async function startAdapter(
  account = "default",
  overrides: Record<string, unknown> = {},
): Promise<WecomAdapter> {
  const adapter = createWecomAdapter({ ...configOf(account), ...overrides }, { account });
  await adapter.start(host.ctx);
  adapters.push(adapter);
  return adapter;
}

async function post(cb: { url: string; body: string }): Promise<{ status: number; text: string }> {
  const res = await fetch(cb.url, { method: "POST", headers: { "content-type": "text/xml" }, body: cb.body });
  return { status: res.status, text: await res.text() };
}

describe("WeCom config", () => {
  it("applies defaults and names what is missing", () => {
    const parsed = wecomConfigSchema.parse({
      ...configOf("default"),
      api_url: undefined,
      callback_path: undefined,
      agent_id: "1000002",
    });
    expect(parsed.api_url).toBe("https://qyapi.weixin.qq.com");
    expect(parsed.agent_id).toBe(1000002);
    const bad = wecomConfigSchema.safeParse({
      corp_id: "x",
      token: "t",
      encoding_aes_key: "short",
      agent_id: 1,
      extra: 1,
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
    expect(messages).toMatch(/corp_secret: is missing: set WECOM_CORP_SECRET/);
    expect(messages).toMatch(/encoding_aes_key: must be the 43-character EncodingAESKey/);
    expect(bad.error!.issues.some((i) => i.code === "unrecognized_keys")).toBe(true);
    expect(platform.name).toBe("wecom");
  });

  it("fails to start with wrong credentials", async () => {
    const adapter = createWecomAdapter({ ...configOf("default"), corp_secret: "wrong" });
    await expect(adapter.start(host.ctx)).rejects.toBeInstanceOf(AuthError);
  });
});

describe("WeCom callback", () => {
  it("answers URL verification with the decrypted echostr, raw", async () => {
    await startAdapter();
    const app = fake.app();
    const ts = String(Math.floor(Date.now() / 1000));
    const echostr = encrypt(aesKeyOf(app.encodingAesKey), "1616140317555161061", app.corpId);
    const sig = signature(app.token, ts, "12345", echostr);
    const url = `${host.url}${app.callbackPath}?msg_signature=${sig}&timestamp=${ts}&nonce=12345&echostr=${encodeURIComponent(echostr)}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1616140317555161061");
    const forged = await fetch(url.replace(sig, "0".repeat(40)));
    expect(forged.status).toBe(401);
  });

  it("acknowledges a pushed text message at once and dispatches it as a DM", async () => {
    await startAdapter();
    const app = fake.app();
    const res = await post(
      signedCallback(
        host.url,
        app,
        textMessageXml(app, { user: "zhangsan", text: "你好 wecom", msgId: "1234567890123456" }),
      ),
    );
    expect(res).toEqual({ status: 200, text: "success" });
    const inbound = await host.waitForDispatch();
    expect(inbound).toMatchObject({
      platform: "wecom",
      account: "default",
      messageId: "1234567890123456",
      chat: { id: "zhangsan", type: "dm" },
      user: { id: "zhangsan", isBot: false },
      text: "你好 wecom",
    });
    expect(inbound.timestamp).toBeGreaterThan(0);
  });

  it("dispatches a message with a ChatId as a group message that mentions the app", async () => {
    await startAdapter();
    const app = fake.app();
    await post(
      signedCallback(
        host.url,
        app,
        textMessageXml(app, { user: "lisi", text: "hi all", msgId: "9", chatId: "wrgroup1" }),
      ),
    );
    const inbound = await host.waitForDispatch();
    expect(inbound).toMatchObject({
      chat: { id: "wrgroup1", type: "group" },
      user: { id: "lisi" },
      mentionsBot: true,
    });
  });

  it("ignores events such as entering the app", async () => {
    await startAdapter();
    const app = fake.app();
    const xml = `<xml><ToUserName>${cdata(app.corpId)}</ToUserName><FromUserName>${cdata("u1")}</FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType>${cdata("event")}</MsgType><Event>${cdata("enter_agent")}</Event><AgentID>${app.agentId}</AgentID></xml>`;
    expect((await post(signedCallback(host.url, app, xml))).status).toBe(200);
    await host.expectNoDispatch(0);
  });

  describe("refuses forged and broken requests, dispatching nothing", () => {
    const msg = (app: ReturnType<FakeWecom["app"]>) =>
      textMessageXml(app, { user: "mallory", text: "x", msgId: "666" });

    it("a bad signature gets 401", async () => {
      await startAdapter();
      const app = fake.app();
      expect(
        (await post(signedCallback(host.url, app, msg(app), { signature: "f".repeat(40) }))).status,
      ).toBe(401);
      // Signed with another app's token.
      expect((await post(signedCallback(host.url, { ...app, token: "other" }, msg(app)))).status).toBe(401);
      await host.expectNoDispatch(0);
    });

    it("a ciphertext that does not decrypt gets 400", async () => {
      await startAdapter();
      const app = fake.app();
      const garbage = Buffer.alloc(64, 7).toString("base64");
      expect((await post(signedCallback(host.url, app, "", { encrypted: garbage }))).status).toBe(400);
      const otherKey = encrypt(aesKeyOf("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"), msg(app), app.corpId);
      expect((await post(signedCallback(host.url, app, "", { encrypted: otherKey }))).status).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("a message encrypted for another CorpID gets 400", async () => {
      await startAdapter();
      const app = fake.app();
      expect(
        (await post(signedCallback(host.url, app, msg(app), { receiveId: "wwsomeoneelse" }))).status,
      ).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("malformed XML, outside or inside the envelope, gets 400", async () => {
      await startAdapter();
      const app = fake.app();
      const cb = signedCallback(host.url, app, msg(app));
      expect((await post({ url: cb.url, body: "<xml><Encrypt><![CDATA[abc" })).status).toBe(400);
      expect((await post({ url: cb.url, body: '{"json":true}' })).status).toBe(400);
      expect((await post({ url: cb.url, body: "<xml><ToUserName>x</ToUserName></xml>" })).status).toBe(400);
      expect((await post(signedCallback(host.url, app, "<xml><Content>unterminated"))).status).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("a timestamp older than five minutes gets 403", async () => {
      await startAdapter();
      const app = fake.app();
      const old = Math.floor(Date.now() / 1000) - 6 * 60;
      expect((await post(signedCallback(host.url, app, msg(app), { timestamp: old }))).status).toBe(403);
      await host.expectNoDispatch(0);
    });

    it("missing query parameters get 400", async () => {
      await startAdapter();
      const app = fake.app();
      const cb = signedCallback(host.url, app, msg(app));
      expect((await post({ url: cb.url.split("?")[0]!, body: cb.body })).status).toBe(400);
      expect((await fetch(cb.url)).status).toBe(400); // GET without echostr
      await host.expectNoDispatch(0);
    });

    it("a replayed message (same MsgId) is acknowledged but dispatched once", async () => {
      await startAdapter();
      const app = fake.app();
      const cb = signedCallback(host.url, app, msg(app));
      expect((await post(cb)).status).toBe(200);
      expect((await post(cb)).status).toBe(200);
      expect((await post(signedCallback(host.url, app, msg(app)))).status).toBe(200);
      await host.waitForDispatch();
      await host.expectNoDispatch(1);
    });
  });

  it("refuses callbacks after stop() with 503", async () => {
    const adapter = await startAdapter();
    await adapter.stop();
    const app = fake.app();
    expect(
      (
        await post(
          signedCallback(host.url, app, textMessageXml(app, { user: "u", text: "late", msgId: "1" })),
        )
      ).status,
    ).toBe(503);
    await host.expectNoDispatch(0);
  });
});

describe("WeCom replies", () => {
  it("sends text with the app's agentid, fetching the token once and reusing it", async () => {
    const adapter = await startAdapter();
    await adapter.send(
      { platform: "wecom", account: "default", chatId: "zhangsan", chatType: "dm" },
      { text: "one" },
    );
    const sent = await adapter.send(
      { platform: "wecom", account: "default", chatId: "zhangsan" },
      { text: "two" },
    );
    expect(sent.messageId).toMatch(/^msg_/);
    expect(fake.sent().map((s) => [s.account, s.chatId, s.text])).toEqual([
      ["default", "zhangsan", "one"],
      ["default", "zhangsan", "two"],
    ]);
    expect(fake.calls.filter((c) => c.path === "/cgi-bin/gettoken")).toHaveLength(1);
    expect(fake.calls.find((c) => c.path === "/cgi-bin/message/send")?.body).toMatchObject({
      touser: "zhangsan",
      msgtype: "text",
      agentid: 1000002,
      text: { content: "one" },
    });
  });

  it("replies to an app group chat through appchat/send", async () => {
    const adapter = await startAdapter();
    await adapter.send(
      { platform: "wecom", account: "default", chatId: "wrgroup1", chatType: "group" },
      { text: "hi group" },
    );
    expect(fake.calls.at(-1)).toMatchObject({
      path: "/cgi-bin/appchat/send",
      body: { chatid: "wrgroup1", text: { content: "hi group" } },
    });
  });

  it.each([42001, 40014] as const)("refreshes the token and retries once on errcode %i", async (errcode) => {
    const adapter = await startAdapter();
    await adapter.send({ platform: "wecom", account: "default", chatId: "u1" }, { text: "before" });
    fake.expireTokens("default", errcode);
    await adapter.send({ platform: "wecom", account: "default", chatId: "u1" }, { text: "after" });
    expect(fake.sent().map((s) => s.text)).toEqual(["before", "after"]);
    expect(fake.calls.filter((c) => c.path === "/cgi-bin/gettoken")).toHaveLength(2);
  });

  it("gives up with AuthError when the fresh token is refused too (one retry, not a loop)", async () => {
    const adapter = await startAdapter();
    fake.rejectTokens(2);
    await expect(
      adapter.send({ platform: "wecom", account: "default", chatId: "u1" }, { text: "x" }),
    ).rejects.toBeInstanceOf(AuthError);
    expect(fake.calls.filter((c) => c.path === "/cgi-bin/message/send")).toHaveLength(2);
    expect(fake.sent()).toHaveLength(0);
  });

  it("maps frequency limits to RateLimitError and gateway failures to TransientError", async () => {
    const adapter = await startAdapter();
    const to = { platform: "wecom", account: "default", chatId: "u1" };
    fake.failNextSends(429, 1);
    await expect(adapter.send(to, { text: "x" })).rejects.toBeInstanceOf(RateLimitError);
    fake.failNextSends(502, 1);
    await expect(adapter.send(to, { text: "x" })).rejects.toBeInstanceOf(TransientError);
    await adapter.send(to, { text: "x" });
    expect(fake.sent()).toHaveLength(1);
  });

  it("maps an unreachable API to TransientError", async () => {
    const adapter = await startAdapter();
    await fake.close();
    await expect(
      adapter.send({ platform: "wecom", account: "default", chatId: "u1" }, { text: "x" }),
    ).rejects.toBeInstanceOf(TransientError);
    fake = await FakeWecom.start({ gatewayUrl: host.url });
  });

  it("declares a 2,048-byte limit and never sends more than 2,048 bytes in one message", async () => {
    const adapter = await startAdapter();
    expect(adapter.capabilities).toEqual({
      maxMessageLength: 2048,
      lengthUnit: "bytes",
      edit: false,
      typing: false,
      threads: false,
      format: "plain",
      mediaIn: true,
      mediaOut: { maxBytes: 20 * 1024 * 1024 },
      nativeCommands: false,
    });
    const text = "长".repeat(1500); // 4,500 bytes
    await adapter.send({ platform: "wecom", account: "default", chatId: "u1" }, { text, format: "plain" });
    const pieces = fake.sent().map((s) => s.text);
    expect(pieces.length).toBe(3);
    for (const p of pieces) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(2048);
    expect(pieces.join("")).toBe(text);
  });

  it("flattens Markdown replies to plain text", async () => {
    const adapter = await startAdapter();
    await adapter.send(
      { platform: "wecom", account: "default", chatId: "u1" },
      { text: "**Done**: see [docs](https://x.test)", format: "markdown" },
    );
    expect(fake.sent()[0]?.text).toBe("Done: see docs (https://x.test)");
  });

  it("keeps two apps apart: each replies with its own token and agentid", async () => {
    const one = await startAdapter("default");
    const two = await startAdapter("second");
    await two.send({ platform: "wecom", account: "second", chatId: "u2" }, { text: "from second" });
    await one.send({ platform: "wecom", account: "default", chatId: "u1" }, { text: "from default" });
    expect(fake.sent().map((s) => [s.account, s.chatId])).toEqual([
      ["second", "u2"],
      ["default", "u1"],
    ]);
    const agentIds = fake.calls
      .filter((c) => c.path === "/cgi-bin/message/send")
      .map((c) => (c.body as { agentid: number }).agentid);
    expect(agentIds).toEqual([1000003, 1000002]);
    // Callbacks land on each app's own path and are decrypted with its own key.
    const app2 = fake.app("second");
    await post(
      signedCallback(host.url, app2, textMessageXml(app2, { user: "w", text: "to second", msgId: "77" })),
    );
    expect(await host.waitForDispatch()).toMatchObject({ account: "second", text: "to second" });
  });
});
