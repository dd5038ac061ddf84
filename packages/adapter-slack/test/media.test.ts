import { MediaError } from "@switchboard/core";
import { TINY_PNG } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_WORKSPACES } from "./fake-slack.ts";
import { type SlackHarness, startSlack } from "./harness.ts";

describe("Slack media", () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlack({ mode: "socket" });
  });
  afterAll(() => h.close());

  it("normalizes a shared file with its url_private as ref and downloads it with the bot token", async () => {
    await h.fake.inject({
      chatType: "dm",
      chatId: "D100",
      userId: "U1",
      text: "see",
      media: [{ kind: "image", name: "p.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const inbound = await h.waitForInbound((m) => m.text === "see");
    const media = inbound.media![0]!;
    expect(media).toMatchObject({
      kind: "image",
      name: "p.png",
      mimeType: "image/png",
      size: TINY_PNG.byteLength,
    });
    expect(media.ref).toMatch(/\/files-pri\/.*\?download=1$/);
    const file = await h.adapter.downloadMedia(media, { maxBytes: 10_000 });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(h.fake.downloads.at(-1)?.authorization).toBe(`Bearer ${DEFAULT_WORKSPACES[0]!.botToken}`);
    // The token goes in the header only, never in the URL.
    expect(h.fake.downloads.at(-1)?.path).not.toContain("xoxb");
  });

  it("refuses to send the token to a host that is not Slack's, and files over the cap", async () => {
    const stranger = { kind: "file" as const, ref: "http://198.51.100.7/steal", name: "x.txt" };
    const err = await h.adapter.downloadMedia(stranger, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect((err as Error).message).toMatch(/not on a Slack host/);
    const big = { kind: "file" as const, ref: "https://files.slack.com/x", size: 5000 };
    expect(
      ((await h.adapter.downloadMedia(big, { maxBytes: 100 }).catch((e: unknown) => e)) as MediaError).code,
    ).toBe("media_too_large");
  });

  it("uploads with files.uploadV2 into the channel and thread, with the caption as the comment", async () => {
    await h.adapter.sendMedia(
      { platform: "slack", account: "default", chatId: "C200", threadId: "1710000000.000001" },
      { kind: "image", name: "chart.png", mimeType: "image/png", data: TINY_PNG, caption: "Q3" },
    );
    const up = h.fake.uploads().at(-1)!;
    expect(up).toMatchObject({
      chatId: "C200",
      threadId: "1710000000.000001",
      name: "chart.png",
      caption: "Q3",
    });
    expect(Buffer.from(up.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(h.fake.calls("files.getUploadURLExternal")).toHaveLength(1);
  });
});
