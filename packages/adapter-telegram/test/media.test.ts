import { MediaError } from "@switchboard/core";
import { TINY_PNG } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter, normalizeUpdate, type TelegramAdapter } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram } from "./fake-telegram.ts";
import { configFor } from "./helpers.ts";

const DM = { platform: "telegram", account: "default", chatId: "42", chatType: "dm" as const };
const BOT = { id: String(DEFAULT_BOT.id), username: DEFAULT_BOT.username };

describe("Telegram media", () => {
  let fake: FakeTelegram;
  let adapter: TelegramAdapter;
  beforeAll(async () => {
    fake = await FakeTelegram.start([DEFAULT_BOT]);
    adapter = createTelegramAdapter(
      configFor(fake, DEFAULT_BOT, { bot_id: DEFAULT_BOT.id, bot_username: DEFAULT_BOT.username }),
    );
  });
  afterAll(async () => {
    await adapter.stop();
    await fake.close();
  });

  const inboundWith = (media: Parameters<FakeTelegram["message"]>[0]["media"], text = "look") =>
    normalizeUpdate(
      { update_id: 1, message: fake.message({ chatType: "dm", chatId: "42", userId: "42", text, media }) },
      BOT,
      "default",
    )!;

  it("normalizes a photo with its caption and file_id, and downloads it through getFile with the bot token", async () => {
    const inbound = inboundWith([{ kind: "image", name: "p.png", mimeType: "image/png", data: TINY_PNG }]);
    expect(inbound.text).toBe("look");
    expect(inbound.media).toEqual([
      {
        kind: "image",
        ref: expect.stringMatching(/^file-/),
        size: TINY_PNG.byteLength,
      },
    ]);
    // Nothing in the normalized message carries a URL, let alone the token.
    expect(JSON.stringify(inbound)).not.toContain(DEFAULT_BOT.token);
    const file = await adapter.downloadMedia(inbound.media![0]!, { maxBytes: 1024 });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    // The type comes from the file path Telegram gives (`photos/file_0.jpg` on the real Bot API).
    expect(file.mimeType).toBe("image/png");
    expect(fake.downloads.at(-1)?.token).toBe(DEFAULT_BOT.token);
  });

  it("marks a voice note and names a document", async () => {
    const data = new TextEncoder().encode("hello");
    const inbound = inboundWith(
      [
        { kind: "audio", voice: true, name: "v.ogg", mimeType: "audio/ogg", data },
        { kind: "file", name: "notes.txt", mimeType: "text/plain", data },
      ],
      "",
    );
    expect(inbound.media?.map((m) => [m.kind, m.voice ?? false, m.name])).toEqual([
      ["file", false, "notes.txt"],
      ["audio", true, undefined],
    ]);
    const doc = await adapter.downloadMedia(inbound.media![0]!, { maxBytes: 1024 });
    expect(doc).toMatchObject({ name: "notes.txt", mimeType: "text/plain" });
  });

  it("refuses a file over the cap before downloading it", async () => {
    const inbound = inboundWith([
      { kind: "file", name: "big.bin", mimeType: "application/pdf", data: new Uint8Array(5000) },
    ]);
    const before = fake.downloads.length;
    const err = await adapter.downloadMedia(inbound.media![0]!, { maxBytes: 100 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
    expect(fake.downloads.length).toBe(before);
    // Without a declared size the cap holds while streaming.
    const unsized = { ...inbound.media![0]!, size: undefined };
    const err2 = await adapter.downloadMedia(unsized, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(MediaError);
  });

  it("uploads an image with sendPhoto and a file with sendDocument, captions and topics kept", async () => {
    const photo = await adapter.sendMedia(
      { ...DM, chatId: "-100", threadId: "7" },
      { kind: "image", name: "chart.png", mimeType: "image/png", data: TINY_PNG, caption: "Q3" },
    );
    expect(photo.messageId).toMatch(/^\d+$/);
    await adapter.sendMedia(DM, {
      kind: "file",
      name: "report.csv",
      mimeType: "text/csv",
      data: new TextEncoder().encode("a,b\n"),
    });
    const [a, b] = fake.uploads().slice(-2);
    expect(a).toMatchObject({
      as: "sendPhoto",
      name: "chart.png",
      chatId: "-100",
      threadId: "7",
      caption: "Q3",
    });
    expect(Buffer.from(a!.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(b).toMatchObject({ as: "sendDocument", name: "report.csv", chatId: "42" });
  });

  it("publishes the command menu with setMyCommands", async () => {
    await adapter.setCommands([
      { name: "help", description: "List the commands" },
      { name: "Bad-Name", description: "dropped: Telegram refuses it" },
      { name: "new", description: "Start a fresh session" },
    ]);
    const call = fake.calls.filter((c) => c.method === "setMyCommands").at(-1);
    expect(call?.body.commands).toEqual([
      { command: "help", description: "List the commands" },
      { command: "new", description: "Start a fresh session" },
    ]);
  });
});
