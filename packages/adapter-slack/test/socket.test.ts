import { afterEach, describe, expect, it } from "vitest";
import { type SlackHarness, startSlack } from "./harness.ts";

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

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

    const sent = await h.adapter.send(
      { platform: "slack", account: "default", chatId: "D0DM00001", chatType: "dm", replyToMessageId: ts },
      { text: "**hello** back", format: "markdown" },
    );
    const reply = await h.fake.waitForSent((m) => m.chatId === "D0DM00001");
    expect(reply).toMatchObject({ text: "*hello* back", format: "mrkdwn", account: "default" });
    expect(reply.threadId).toBeUndefined();
    expect(sent.messageId).toMatch(/^\d+\.\d+$/);
    const post = h.fake.calls("chat.postMessage")[0]!;
    expect(post.token).toBe("xoxb-default-token");
  });
});
