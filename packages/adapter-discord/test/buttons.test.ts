import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DiscordAdapter } from "../src/index.ts";
import { createFakeDiscord, DEFAULT_GUILD_ID, type FakeDiscord } from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

const ACTIONS = [
  { label: "Approve", command: "/approve a1b2c3", style: "primary" as const },
  { label: "Deny", command: "/deny a1b2c3", style: "danger" as const },
];

describe("Discord buttons", () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let rec: ReturnType<typeof recordingContext>;
  beforeEach(async () => {
    fake = await createFakeDiscord();
    adapter = adapterFor(fake);
    rec = recordingContext();
    await adapter.start(rec.ctx);
  });
  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("sends actions as an action row of buttons under the last chunk only", async () => {
    const address = { platform: "discord", account: "default", chatId: "500000000000000001" };
    await adapter.send(address, { text: "first", actions: ACTIONS, part: { index: 0, count: 2 } });
    await adapter.send(address, { text: "second", actions: ACTIONS, part: { index: 1, count: 2 } });
    const [first, second] = fake.sent().slice(-2);
    expect((first!.raw as { components?: unknown }).components).toBeUndefined();
    expect((second!.raw as { components?: unknown }).components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 1, label: "Approve", custom_id: "/approve a1b2c3" },
          { type: 2, style: 4, label: "Deny", custom_id: "/deny a1b2c3" },
        ],
      },
    ]);
  });

  it("acknowledges a press and dispatches the command it carries, from the presser, in the message's channel", async () => {
    // A message in a guild channel first, so the channel exists (and is cached) like a real one.
    await fake.inject({
      chatId: "600000000000000001",
      chatType: "group",
      userId: "700000000000000001",
      text: "hi",
    });
    await rec.next((m) => m.text === "hi");
    await adapter.send(
      { platform: "discord", account: "default", chatId: "600000000000000001" },
      { text: "Approve?", actions: ACTIONS },
    );
    const sent = fake.sent().at(-1)!;
    await fake.pressButton(sent, "700000000000000002", 0);
    const inbound = await rec.next((m) => m.text.startsWith("/approve"));
    expect(inbound).toMatchObject({
      platform: "discord",
      account: "default",
      chat: { id: "600000000000000001", type: "group" },
      guildId: DEFAULT_GUILD_ID,
      user: { id: "700000000000000002" },
      text: "/approve a1b2c3",
      mentionsBot: true,
    });
    const deadline = Date.now() + 5000;
    while (!fake.calls.some((c) => c.path.includes("/callback")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(fake.calls.find((c) => c.path.includes("/callback"))?.body).toMatchObject({ type: 6 });
  });
});
