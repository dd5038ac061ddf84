import { type Host, startHost } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFeishuAdapter,
  encryptEvent,
  type FeishuAdapter,
  type FeishuAdapterConfigInput,
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

const dm = { chatType: "dm" as const, chatId: "oc_dm", userId: "alice", text: "hi" };

describe("Feishu webhook", () => {
  it("answers the encrypted url_verification challenge", async () => {
    await startAdapter();
    const res = await fake.postWebhook(
      "default",
      { type: "url_verification", challenge: "ch-42", token: "vtoken-default" },
      { signKey: null },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "ch-42" });
  });

  it("round-trips an encrypted, signed event: answered at once, dispatched, replied to", async () => {
    const adapter = await startAdapter();
    const res = await fake.postWebhook(
      "default",
      fake.receiveEvent({ ...dm, messageId: "om_w1", text: "hello lark" }),
    );
    expect(res.status).toBe(200);
    const inbound = await host.waitForDispatch();
    expect(inbound).toMatchObject({
      messageId: "om_w1",
      chat: { id: "oc_dm", type: "dm" },
      user: { id: "ou_alice", idAlt: "alice" },
      text: "hello lark",
    });
    await adapter.send(
      { platform: "feishu", account: "default", chatId: "oc_dm", chatType: "dm", replyToMessageId: "om_w1" },
      { text: "echo" },
    );
    expect(fake.sent()).toMatchObject([{ account: "default", chatId: "oc_dm", text: "echo" }]);
  });

  describe("refuses forged and broken requests, dispatching nothing", () => {
    it("a bad signature gets 401", async () => {
      await startAdapter();
      expect(
        (await fake.postWebhook("default", fake.receiveEvent(dm), { signature: "0".repeat(64) })).status,
      ).toBe(401);
      expect(
        (await fake.postWebhook("default", fake.receiveEvent(dm), { signKey: "not-the-key" })).status,
      ).toBe(401);
      await host.expectNoDispatch(0);
    });

    it("an unsigned event gets 401 when an encrypt_key is set", async () => {
      await startAdapter();
      expect((await fake.postWebhook("default", fake.receiveEvent(dm), { signKey: null })).status).toBe(401);
      await host.expectNoDispatch(0);
    });

    it("a body that does not decrypt gets 400", async () => {
      await startAdapter();
      const wrongKey = JSON.stringify({
        encrypt: encryptEvent("another-key", JSON.stringify(fake.receiveEvent(dm))),
      });
      expect((await fake.postWebhook("default", {}, { rawBody: wrongKey })).status).toBe(400);
      const garbage = JSON.stringify({ encrypt: "bm90IGNpcGhlcnRleHQ=" });
      expect((await fake.postWebhook("default", {}, { rawBody: garbage })).status).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("malformed JSON gets 400", async () => {
      await startAdapter();
      expect((await fake.postWebhook("default", {}, { rawBody: "{not json" })).status).toBe(400);
      expect((await fake.postWebhook("default", {}, { rawBody: "[1,2]" })).status).toBe(400);
      const inner = JSON.stringify({ encrypt: encryptEvent("enc-key-default", "{broken") });
      expect((await fake.postWebhook("default", {}, { rawBody: inner })).status).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("a plaintext event gets 400 when an encrypt_key is set", async () => {
      await startAdapter();
      expect(
        (
          await fake.postWebhook("default", fake.receiveEvent(dm), {
            encryptKey: null,
            signKey: "enc-key-default",
          })
        ).status,
      ).toBe(400);
      await host.expectNoDispatch(0);
    });

    it("a stale timestamp gets 403", async () => {
      await startAdapter();
      const old = Math.floor(Date.now() / 1000) - 6 * 60;
      expect((await fake.postWebhook("default", fake.receiveEvent(dm), { timestamp: old })).status).toBe(403);
      await host.expectNoDispatch(0);
    });

    it("a wrong verification token gets 401", async () => {
      await startAdapter();
      const envelope = fake.receiveEvent(dm) as { header: { token: string } };
      envelope.header.token = "forged";
      expect((await fake.postWebhook("default", envelope)).status).toBe(401);
      await host.expectNoDispatch(0);
    });

    it("a replayed event (same event_id) is acknowledged but dispatched once", async () => {
      await startAdapter();
      const envelope = fake.receiveEvent(dm);
      expect((await fake.postWebhook("default", envelope)).status).toBe(200);
      expect((await fake.postWebhook("default", envelope)).status).toBe(200);
      await host.waitForDispatch();
      await host.expectNoDispatch(1);
    });

    it("events after stop() get 503", async () => {
      const adapter = await startAdapter();
      await adapter.stop();
      expect((await fake.postWebhook("default", fake.receiveEvent(dm))).status).toBe(503);
      await host.expectNoDispatch(0);
    });
  });

  it("checks only the verification token when no encrypt_key is set", async () => {
    await fake.close();
    const apps = defaultApps("webhook").map(({ encryptKey: _drop, ...app }) => app);
    fake = await FakeFeishu.start({ gatewayUrl: host.url, apps });
    await startAdapter();
    expect((await fake.postWebhook("default", fake.receiveEvent(dm))).status).toBe(200);
    await host.waitForDispatch();
    const forged = fake.receiveEvent({ ...dm, text: "forged" }) as { header: { token: string } };
    forged.header.token = "nope";
    expect((await fake.postWebhook("default", forged)).status).toBe(401);
    await host.expectNoDispatch(1);
  });

  it("needs encrypt_key or verification_token in webhook mode", () => {
    const {
      encrypt_key: _e,
      verification_token: _v,
      ...bare
    } = configOf("default") as Record<string, unknown>;
    expect(() => createFeishuAdapter(bare as FeishuAdapterConfigInput)).toThrow(
      /webhook mode needs encrypt_key/,
    );
  });
});
