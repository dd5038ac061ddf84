import type { InboundMessage } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { signedPost } from "./fake-slack.ts";
import { type SlackHarness, settle, startSlack } from "./harness.ts";

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function eventsUrl(harness: SlackHarness, account = "default"): string {
  return `${harness.bridge.url}/slack/${account}/events`;
}

function channelMessage(harness: SlackHarness, text: string, account = "default"): Record<string, unknown> {
  return harness.fake.eventCallback(account, {
    type: "message",
    channel: "C0GENERAL",
    channel_type: "channel",
    user: "U0USER001",
    text,
    ts: harness.fake.nextTs(),
  });
}

describe("Slack HTTP Events API", () => {
  it("answers url_verification with the challenge", async () => {
    h = await startSlack({ mode: "http" });
    const body = JSON.stringify({ token: "t", type: "url_verification", challenge: "c-123" });
    const res = await signedPost(eventsUrl(h), body, { secret: h.fake.workspace().signingSecret });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "c-123" });
  });

  it("refuses a bad signature with 401 and dispatches nothing", async () => {
    h = await startSlack({ mode: "http" });
    const body = JSON.stringify(channelMessage(h, "forged"));
    const res = await signedPost(eventsUrl(h), body, { secret: "not-the-secret" });
    expect(res.status).toBe(401);
    const unsigned = await fetch(eventsUrl(h), {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(unsigned.status).toBe(401);
    await settle();
    expect(h.inbound).toEqual([]);
  });

  it("refuses a correctly signed request whose timestamp is more than five minutes off", async () => {
    h = await startSlack({ mode: "http" });
    const secret = h.fake.workspace().signingSecret;
    const now = Math.floor(Date.now() / 1000);
    const stale = await signedPost(eventsUrl(h), JSON.stringify(channelMessage(h, "replayed")), {
      secret,
      timestamp: now - 301,
    });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toContain("stale");
    const future = await signedPost(eventsUrl(h), JSON.stringify(channelMessage(h, "future")), {
      secret,
      timestamp: now + 301,
    });
    expect(future.status).toBe(401);
    const fresh = await signedPost(eventsUrl(h), JSON.stringify(channelMessage(h, "fresh")), {
      secret,
      timestamp: now - 200,
    });
    expect(fresh.status).toBe(200);
    await h.waitForInbound((m) => m.text === "fresh");
    expect(h.inbound.map((m) => m.text)).toEqual(["fresh"]);
  });

  it("answers malformed JSON and non-event bodies with 400", async () => {
    h = await startSlack({ mode: "http" });
    const secret = h.fake.workspace().signingSecret;
    expect((await signedPost(eventsUrl(h), "{not json", { secret })).status).toBe(400);
    expect((await signedPost(eventsUrl(h), JSON.stringify([1, 2]), { secret })).status).toBe(400);
    expect(
      (await signedPost(eventsUrl(h), JSON.stringify({ type: "url_verification" }), { secret })).status,
    ).toBe(400);
    await settle();
    expect(h.inbound).toEqual([]);
  });

  it("acks an event before core has taken it, then dispatches it", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    h = await startSlack({ mode: "http", onDispatch: () => held });
    const res = await h.fake.deliver("default", channelMessage(h, "slow core"));
    expect(res?.status).toBe(200);
    expect(await h.waitForInbound((m) => m.text === "slow core")).toBeDefined();
    release();
  });

  it("ignores Slack's retry of an event it already received, but takes a retry of one it missed", async () => {
    h = await startSlack({ mode: "http" });
    const first = channelMessage(h, "once");
    await h.fake.deliver("default", first);
    await h.waitForInbound((m) => m.text === "once");
    expect((await h.fake.deliver("default", first, { retryNum: 1 }))?.status).toBe(200);
    const missed = channelMessage(h, "missed first time");
    await h.fake.deliver("default", missed, { retryNum: 2 });
    await h.waitForInbound((m) => m.text === "missed first time");
    await settle();
    expect(h.inbound.map((m) => m.text)).toEqual(["once", "missed first time"]);
  });

  it("replies in a thread on the channel message", async () => {
    h = await startSlack({ mode: "http" });
    const body = channelMessage(h, "<@UBOTDEFAULT> deploy status?");
    await h.fake.deliver("default", body);
    const m = await h.waitForInbound((x) => x.text === "deploy status?");
    const ts = (body.event as { ts: string }).ts;
    expect(m).toMatchObject({ mentionsBot: true, chat: { id: "C0GENERAL", type: "group" }, threadId: ts });
    await h.adapter.send(addressOf(m), { text: "all green", format: "markdown" });
    const sent = await h.fake.waitForSent((s) => s.text === "all green");
    expect(sent).toMatchObject({ chatId: "C0GENERAL", threadId: ts, account: "default" });
  });

  it("keeps each workspace on its own path and signing secret", async () => {
    h = await startSlack({ mode: "http" });
    const crossSigned = await signedPost(
      eventsUrl(h, "second"),
      JSON.stringify(channelMessage(h, "wrong key", "second")),
      {
        secret: h.fake.workspace("default").signingSecret,
      },
    );
    expect(crossSigned.status).toBe(401);
    await h.fake.deliver("second", channelMessage(h, "right key", "second"));
    const m = await h.waitForInbound((x) => x.text === "right key");
    expect(m).toMatchObject({ account: "second", guildId: "T0SECOND" });
    expect(h.inbound.some((x) => x.text === "wrong key")).toBe(false);
  });
});

/** The address core builds for a reply (gateway dispatch). */
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
