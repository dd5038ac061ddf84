import { MediaError } from "@switchboard/core";
import { type Host, startHost, TINY_PNG } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createYuanbaoAdapter, type YuanbaoAdapter, type YuanbaoAdapterConfigInput } from "../src/index.ts";
import { FakeYuanbao, yuanbaoSection } from "./fake-yuanbao.ts";

let host: Host;
let fake: FakeYuanbao;
let adapter: YuanbaoAdapter;

beforeEach(async () => {
  host = await startHost();
  fake = await FakeYuanbao.start();
  const config = (yuanbaoSection(fake).accounts as Record<string, YuanbaoAdapterConfigInput>).default!;
  adapter = createYuanbaoAdapter(config, { account: "default" });
  await adapter.start(host.ctx);
});
afterEach(async () => {
  await adapter.stop();
  await fake.close();
  await host.close();
});

describe("Yuanbao media", () => {
  it("downloads an image of a message (TIMImageElem) through the guarded image fetch", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "u1",
      userId: "u1",
      text: "see",
      media: [{ kind: "image", name: "p.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const inbound = await host.waitForDispatch((m) => m.text.includes("see"));
    const media = inbound.media![0]!;
    expect(media).toMatchObject({ kind: "image", ref: expect.stringContaining("/cos/") });
    const file = await adapter.downloadMedia(media, { maxBytes: 1000 });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    expect(file.mimeType).toBe("image/png");
    const err = await adapter.downloadMedia(media, { maxBytes: 5 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
  });

  it("says files cannot be downloaded, and never fetches a private address it was not configured with", async () => {
    const file = await adapter
      .downloadMedia({ kind: "file", ref: `${fake.url}/cos/x/a.txt` }, { maxBytes: 100 })
      .catch((e: unknown) => e);
    expect((file as MediaError).code).toBe("media_unsupported");
    const ssrf = await adapter
      .downloadMedia({ kind: "image", ref: "http://169.254.169.254/latest/meta-data" }, { maxBytes: 100 })
      .catch((e: unknown) => e);
    expect(ssrf).toBeInstanceOf(MediaError);
    expect((ssrf as Error).message).toMatch(/private or local/);
  });
});
