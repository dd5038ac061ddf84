import type { MediaError } from "@switchboard/core";
import { TINY_PNG } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { type Harness, startAdapter } from "./helpers.ts";

const ROOM = "!media:fake.local";

describe("Matrix media", () => {
  let fake: FakeHomeserver;
  let h: Harness;
  beforeAll(async () => {
    fake = await FakeHomeserver.start();
    h = await startAdapter(fake, "default", { allow_all_users: true } as never);
  });
  afterAll(async () => {
    await h.adapter.stop();
    await fake.close();
  });

  it("normalizes an m.image with a caption and downloads its mxc:// through authenticated media", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: ROOM,
      userId: "@alice:fake.local",
      text: "my cat",
      media: [{ kind: "image", name: "cat.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const inbound = await h.next((m) => m.text === "my cat");
    const media = inbound.media![0]!;
    expect(media).toMatchObject({
      kind: "image",
      name: "cat.png",
      mimeType: "image/png",
      size: TINY_PNG.byteLength,
    });
    expect(media.ref).toMatch(/^mxc:\/\/fake\.local\//);
    const file = await h.adapter.downloadMedia(media, { maxBytes: 1000 });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    const req = fake.requests.find((r) => r.path.startsWith("/_matrix/client/v1/media/download/"));
    expect(req?.account).toBe("default");
    const err = await h.adapter.downloadMedia(media, { maxBytes: 10 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
  });

  it("an m.file without a caption arrives with no text but its file", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: ROOM,
      userId: "@alice:fake.local",
      text: "",
      media: [
        { kind: "file", name: "notes.txt", mimeType: "text/plain", data: new TextEncoder().encode("hi") },
      ],
    });
    const inbound = await h.next((m) => m.media?.[0]?.name === "notes.txt");
    expect(inbound.text).toBe("");
  });

  it("uploads to the media repository, then sends m.image / m.file pointing at it", async () => {
    await h.adapter.sendMedia(
      { platform: "matrix", account: "default", chatId: ROOM },
      { kind: "image", name: "chart.png", mimeType: "image/png", data: TINY_PNG, caption: "Q3" },
    );
    await h.adapter.sendMedia(
      { platform: "matrix", account: "default", chatId: ROOM, threadId: "$root" },
      { kind: "file", name: "r.csv", mimeType: "text/csv", data: new TextEncoder().encode("a,b") },
    );
    const [img, doc] = fake.uploads().slice(-2);
    expect(img).toMatchObject({ as: "m.image", name: "chart.png", caption: "Q3", chatId: ROOM });
    expect(Buffer.from(img!.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(img!.raw).toMatchObject({ info: { mimetype: "image/png", size: TINY_PNG.byteLength } });
    expect(doc).toMatchObject({ as: "m.file", name: "r.csv", threadId: "$root" });
    expect(fake.requests.some((r) => r.path === "/_matrix/media/v3/upload" && r.account === "default")).toBe(
      true,
    );
  });
});
