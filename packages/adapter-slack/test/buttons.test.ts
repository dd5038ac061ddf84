import { afterEach, describe, expect, it } from "vitest";
import { type SlackHarness, startSlack } from "./harness.ts";

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ACTIONS = [
  { label: "Approve", command: "/approve a1b2c3", style: "primary" as const },
  { label: "Deny", command: "/deny a1b2c3", style: "danger" as const },
];

describe("Slack buttons (Socket Mode)", () => {
  it("sends actions as Block Kit buttons under the last chunk, keeping the text", async () => {
    h = await startSlack({ mode: "socket" });
    const address = { platform: "slack", account: "default", chatId: "C100", chatType: "group" as const };
    await h.adapter.send(address, { text: "first", actions: ACTIONS, part: { index: 0, count: 2 } });
    await h.adapter.send(address, {
      text: "Approve *this*?",
      actions: ACTIONS,
      part: { index: 1, count: 2 },
    });
    const [first, second] = h.fake.sent().slice(-2);
    expect((first!.raw as Record<string, string>).blocks).toBeUndefined();
    const raw = second!.raw as Record<string, string>;
    expect(raw.text).toBe("Approve _this_?");
    expect(JSON.parse(raw.blocks!)).toEqual([
      { type: "section", text: { type: "mrkdwn", text: "Approve _this_?" } },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            action_id: "switchboard_action_0",
            text: { type: "plain_text", text: "Approve" },
            value: "/approve a1b2c3",
            style: "primary",
          },
          {
            type: "button",
            action_id: "switchboard_action_1",
            text: { type: "plain_text", text: "Deny" },
            value: "/deny a1b2c3",
            style: "danger",
          },
        ],
      },
    ]);
  });

  it("acks a press and dispatches the command it carries, from the presser, in the message's thread", async () => {
    h = await startSlack({ mode: "socket" });
    const address = {
      platform: "slack",
      account: "default",
      chatId: "C200",
      chatType: "group" as const,
      threadId: "1700000000.000100",
    };
    await h.adapter.send(address, { text: "Approve?", actions: ACTIONS });
    const sent = h.fake.sent().at(-1)!;
    await h.fake.pressButton(sent, "U777", 1);
    const inbound = await h.waitForInbound((m) => m.text.startsWith("/deny"));
    expect(inbound).toMatchObject({
      platform: "slack",
      account: "default",
      chat: { id: "C200", type: "group" },
      threadId: "1700000000.000100",
      user: { id: "U777" },
      text: "/deny a1b2c3",
      mentionsBot: true,
    });
  });
});
