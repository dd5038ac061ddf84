import type { MediaError } from "@switchboard/core";
import { type Host, startHost, TINY_PNG } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWecomAdapter, type WecomAdapter, type WecomAdapterConfigInput } from "../src/index.ts";
import { FakeWecom, wecomSection } from "./fake-wecom.ts";

let host: Host;
let fake: FakeWecom;
let adapter: WecomAdapter;

beforeEach(async () => {
  host = await startHost();
  fake = await FakeWecom.start({ gatewayUrl: host.url });
  adapter = createWecomAdapter(
    (wecomSection(fake).accounts as Record<string, WecomAdapterConfigInput>).default!,
    {
      account: "default",
    },
  );
  await adapter.start(host.ctx);
});
afterEach(async () => {
  await adapter.stop();
  await host.close();
  await fake.close();
});

describe("WeCom media", () => {
  it("an image message's MediaId downloads through media/get; the token stays in the adapter", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "zhangsan",
      userId: "zhangsan",
      text: "",
      media: [{ kind: "image", name: "p.png", mimeType: "image/png", data: TINY_PNG }],
    });
    const inbound = await host.waitForDispatch((m) => (m.media?.length ?? 0) > 0);
    expect(inbound.media).toEqual([{ kind: "image", ref: expect.stringMatching(/^MEDIA_IN_/) }]);
    expect(JSON.stringify(inbound)).not.toContain("access_token");
    const file = await adapter.downloadMedia(inbound.media![0]!, { maxBytes: 1000 });
    expect(file).toMatchObject({ name: "p.png", mimeType: "image/png" });
    expect(Buffer.from(file.data).equals(Buffer.from(TINY_PNG))).toBe(true);
    const err = await adapter.downloadMedia(inbound.media![0]!, { maxBytes: 5 }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe("media_too_large");
  });

  it("a voice message is marked as voice", async () => {
    await fake.inject({
      chatType: "dm",
      chatId: "lisi",
      userId: "lisi",
      text: "",
      media: [{ kind: "audio", voice: true, name: "v.amr", mimeType: "audio/amr", data: new Uint8Array(8) }],
    });
    const inbound = await host.waitForDispatch((m) => m.user.id === "lisi");
    expect(inbound.media?.[0]).toMatchObject({ kind: "audio", voice: true, mimeType: "audio/amr" });
  });

  it("uploads temporary media, then sends image / file messages with the media_id", async () => {
    const to = { platform: "wecom", account: "default", chatId: "zhangsan", chatType: "dm" as const };
    await adapter.sendMedia(to, { kind: "image", name: "c.png", mimeType: "image/png", data: TINY_PNG });
    await adapter.sendMedia(to, {
      kind: "file",
      name: "r.csv",
      mimeType: "text/csv",
      data: new TextEncoder().encode("a,b"),
      caption: "the data",
    });
    const [img, csv] = fake.uploads();
    expect(img).toMatchObject({ as: "image", name: "c.png", chatId: "zhangsan" });
    expect(csv).toMatchObject({ as: "file", name: "r.csv" });
    expect(new TextDecoder().decode(csv!.data)).toBe("a,b");
    await fake.waitForSent((m) => m.text === "the data");
  });
});
