import { MediaError } from "@switchboard/core";
import { TINY_PNG } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscordAdapter } from "../src/index.ts";
import { createFakeDiscord, type FakeDiscord } from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

describe("Discord media and slash commands", () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let rec: ReturnType<typeof recordingContext>;
  beforeAll(async () => {
    fake = await createFakeDiscord();
    adapter = adapterFor(fake);
    rec = recordingContext();
    await adapter.start(rec.ctx);
  });
  afterAll(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("normalizes an attachment with its CDN URL as ref and downloads it", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "9001",
      userId: "42",
      text: "a photo",
      media: [{ kind: "image", name: "cat.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const inbound = await rec.next((m) => m.text === "a photo");
    const media = inbound.media![0]!;
    expect(media).toMatchObject({
      kind: "image",
      name: "cat.png",
      mimeType: "image/png",
      size: TINY_PNG.byteLength,
    });
    expect(media.url).toBeUndefined();
    const file = await adapter.downloadMedia(media, { maxBytes: 1000 });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    const err = await adapter.downloadMedia(media, { maxBytes: 10 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
    const stranger = await adapter
      .downloadMedia({ kind: "file", ref: "http://198.51.100.9/x" }, { maxBytes: 10 })
      .catch((e: unknown) => e);
    expect(stranger).toBeInstanceOf(MediaError);
  });

  it("sends a file as an attachment with its caption as the message text", async () => {
    const sent = await adapter.sendMedia(
      { platform: "discord", account: "default", chatId: "9001" },
      {
        kind: "file",
        name: "notes.txt",
        mimeType: "text/plain",
        data: new TextEncoder().encode("hi"),
        caption: "notes",
      },
    );
    expect(sent.messageId).toMatch(/^\d+$/);
    const up = fake.uploads().at(-1)!;
    expect(up).toMatchObject({ chatId: "9001", name: "notes.txt", caption: "notes", as: "attachment" });
    expect(new TextDecoder().decode(up.data)).toBe("hi");
  });

  it("registers the command table as application commands, and a slash command arrives as its text", async () => {
    await adapter.setCommands([
      { name: "model", description: "Show or switch the model" },
      { name: "Not Valid", description: "left out" },
    ]);
    expect(fake.commands.get("default")).toEqual([
      {
        type: 1,
        name: "model",
        description: "Show or switch the model",
        options: [{ type: 3, name: "args", description: "What follows the command", required: false }],
      },
    ]);
    await fake.runCommand({ chatId: "9002", userId: "42", name: "model", args: "gpt-4.1" });
    const inbound = await rec.next((m) => m.text.startsWith("/model"));
    expect(inbound).toMatchObject({
      text: "/model gpt-4.1",
      chat: { id: "9002", type: "dm" },
      user: { id: "42" },
    });
    expect(fake.calls.some((c) => /^\/interactions\/.*\/callback$/.test(c.path))).toBe(true);
    // The answer goes to the channel without quoting a message (an interaction is not one).
    await adapter.send(
      { platform: "discord", account: "default", chatId: "9002", replyToMessageId: inbound.messageId },
      { text: "model: m" },
    );
    const answer = await fake.waitForSent((m) => m.text === "model: m");
    expect((answer.raw as { message_reference?: unknown }).message_reference).toBeUndefined();
  });
});
