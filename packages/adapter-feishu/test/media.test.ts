import type { MediaError } from "@switchboard/core";
import { type Host, startHost, TINY_PNG } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFeishuAdapter, type FeishuAdapter, type FeishuAdapterConfigInput } from "../src/index.ts";
import { FakeFeishu, feishuSection } from "./fake-feishu.ts";

let host: Host;
let fake: FakeFeishu;
let adapter: FeishuAdapter;

beforeEach(async () => {
  host = await startHost();
  fake = await FakeFeishu.start({ gatewayUrl: host.url, mode: "webhook" });
  const config = (feishuSection(fake).accounts as Record<string, FeishuAdapterConfigInput>).default!;
  adapter = createFeishuAdapter(config, { account: "default" });
  await adapter.start(host.ctx);
});
afterEach(async () => {
  await adapter.stop();
  await fake.close();
  await host.close();
});

describe("Feishu media", () => {
  it("an image in a post and a file message download through im.messageResource.get", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "oc_dm",
      userId: "u1",
      text: "look",
      media: [{ kind: "image", name: "p.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const post = await host.waitForDispatch((m) => m.text === "look");
    expect(post.media).toEqual([{ kind: "image", ref: expect.stringMatching(/^image:om_in_\d+:img_v3_/) }]);
    const image = await adapter.downloadMedia(post.media![0]!, { maxBytes: 1000 });
    expect(Buffer.from(image.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(image.mimeType).toBe("image/png");

    await fake.inject({
      chatType: "dm",
      chatId: "oc_dm",
      userId: "u1",
      text: "",
      media: [
        { kind: "file", name: "n.txt", mimeType: "text/plain", data: new TextEncoder().encode("hello") },
      ],
    });
    const file = await host.waitForDispatch((m) => m.media?.[0]?.name === "n.txt");
    const doc = await adapter.downloadMedia(file.media![0]!, { maxBytes: 1000 });
    expect(new TextDecoder().decode(doc.data)).toBe("hello");
    const err = await adapter.downloadMedia(file.media![0]!, { maxBytes: 3 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
  });

  it("uploads an image and a file, then sends image / file messages with their keys", async () => {
    const to = { platform: "feishu", account: "default", chatId: "oc_grp" };
    await adapter.sendMedia(to, { kind: "image", name: "c.png", mimeType: "image/png", data: TINY_PNG });
    await adapter.sendMedia(to, {
      kind: "file",
      name: "r.pdf",
      mimeType: "application/pdf",
      data: new TextEncoder().encode("%PDF"),
      caption: "the report",
    });
    const [img, pdf] = fake.uploads();
    expect(img).toMatchObject({ as: "image", chatId: "oc_grp" });
    expect(Buffer.from(img!.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(pdf).toMatchObject({ as: "file:pdf", name: "r.pdf", chatId: "oc_grp" });
    // The caption follows as text.
    await fake.waitForSent((m) => m.text === "the report");
  });
});
