import type { HttpBridge } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTelegramAdapter, SECRET_HEADER, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";
import { configFor, sleepMs, type TestContext, testContext } from "./helpers.ts";

const SECRET = "s3cr3t-token_1";

describe("webhook mode", () => {
  let fake: FakeTelegram;
  let bridge: HttpBridge;
  let adapter: TelegramAdapter;
  let t: TestContext;

  const post = (body: string, secret: string | undefined, path = "/telegram/default") =>
    fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret !== undefined ? { [SECRET_HEADER]: secret } : {}),
      },
      body,
    });
  const update = (id: number, text: string) =>
    JSON.stringify({
      update_id: id,
      message: fake.message({ chatType: "dm", chatId: "42", userId: "42", text }),
    });

  beforeEach(async () => {
    fake = await FakeTelegram.start();
    t = testContext();
    bridge = await t.serve();
    adapter = createTelegramAdapter(
      configFor(fake, DEFAULT_BOT, {
        mode: "webhook",
        webhook_secret: SECRET,
        webhook_url: `${bridge.url}/telegram/default`,
      }),
    );
    await adapter.start(t.ctx);
  });
  afterEach(async () => {
    await adapter.stop();
    await bridge.close();
    await fake.close();
  });

  it("accepts an update with the right secret and dispatches it", async () => {
    const res = await post(update(1, "hello hook"), SECRET);
    expect(res.status).toBe(200);
    expect(t.inbound.map((m) => m.text)).toEqual(["hello hook"]);
  });

  it("rejects a wrong or missing secret with 401 and dispatches nothing", async () => {
    expect((await post(update(2, "forged"), "wrong-secret")).status).toBe(401);
    expect((await post(update(3, "forged"), undefined)).status).toBe(401);
    expect((await post(update(4, "forged"), `${SECRET}x`)).status).toBe(401);
    await sleepMs(50);
    expect(t.inbound).toEqual([]);
  });

  it("answers malformed JSON and non-updates with 400", async () => {
    expect((await post("{not json", SECRET)).status).toBe(400);
    expect((await post(JSON.stringify({ hello: "world" }), SECRET)).status).toBe(400);
    expect(t.inbound).toEqual([]);
  });

  it("registers the webhook with Telegram, which then delivers updates to the gateway's listener", async () => {
    const set = await fake.waitForCall("setWebhook");
    expect(set.body).toMatchObject({ url: `${bridge.url}/telegram/default`, secret_token: SECRET });
    await fake.inject({ chatType: "dm", chatId: "42", userId: "42", text: "via telegram" });
    expect(fake.webhookResponses).toEqual([200]);
    expect(t.inbound.map((m) => m.text)).toEqual(["via telegram"]);
    // A webhook and getUpdates exclude each other: the adapter never polls in webhook mode.
    expect(fake.calls.some((c) => c.method === "getUpdates" || c.method === "deleteWebhook")).toBe(false);
  });

  it("mounts on a configured path", async () => {
    const other = createTelegramAdapter(
      configFor(fake, DEFAULT_BOT, { mode: "webhook", webhook_secret: SECRET, webhook_path: "/hooks/tg" }),
    );
    const t2 = testContext();
    await other.start(t2.ctx);
    const b2 = await t2.serve();
    try {
      const res = await fetch(`${b2.url}/hooks/tg`, {
        method: "POST",
        headers: { [SECRET_HEADER]: SECRET },
        body: update(9, "custom path"),
      });
      expect(res.status).toBe(200);
      expect(t2.inbound.map((m) => m.text)).toEqual(["custom path"]);
    } finally {
      await other.stop();
      await b2.close();
    }
  });
});
