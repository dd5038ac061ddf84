import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";
import { configFor, testContext } from "./helpers.ts";

const DM = { platform: "telegram", account: "default", chatId: "42", chatType: "dm" as const };
const ACTIONS = [
  { label: "Approve", command: "/approve a1b2c3", style: "primary" as const },
  { label: "Deny", command: "/deny a1b2c3", style: "danger" as const },
];

describe("inline keyboard buttons", () => {
  let fake: FakeTelegram;
  let adapter: TelegramAdapter;
  beforeAll(async () => {
    fake = await FakeTelegram.start([DEFAULT_BOT]);
    adapter = createTelegramAdapter(configFor(fake, DEFAULT_BOT), { account: "default" });
  });
  afterAll(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("puts the actions under the last chunk only, as callback buttons", async () => {
    await adapter.send(DM, { text: "first", actions: ACTIONS, part: { index: 0, count: 2 } });
    await adapter.send(DM, { text: "second", actions: ACTIONS, part: { index: 1, count: 2 } });
    const sends = fake.calls.filter((c) => c.method === "sendMessage");
    expect(sends[0]!.body.reply_markup).toBeUndefined();
    expect(sends[1]!.body.reply_markup).toEqual({
      inline_keyboard: [
        [
          { text: "Approve", callback_data: "/approve a1b2c3" },
          { text: "Deny", callback_data: "/deny a1b2c3" },
        ],
      ],
    });
  });

  it("turns a button press into the command it carries, from the presser, and answers the callback", async () => {
    const t = testContext();
    await adapter.start(t.ctx);
    const sent = await fake.waitForSent((m) => m.text === "second");
    await fake.pressButton(sent, "777", "/approve a1b2c3");
    const [inbound] = await t.waitForInbound(1);
    expect(inbound).toMatchObject({
      platform: "telegram",
      account: "default",
      chat: { id: "42", type: "dm" },
      user: { id: "777", isBot: false },
      text: "/approve a1b2c3",
      mentionsBot: true,
    });
    expect(inbound!.messageId).toMatch(/^cb:/);
    await fake.waitForCall("answerCallbackQuery");
    t.abort();
  });
});
