import { memoryLogger } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMatrixAdapter, type MatrixAdapter } from "../src/index.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { accountConfig, startAdapter } from "./helpers.ts";

const ROOM = "!standby:fake.local";
const to = { platform: "matrix", account: "default", chatId: ROOM };
let fake: FakeHomeserver;
const adapters: MatrixAdapter[] = [];

beforeEach(async () => {
  fake = await FakeHomeserver.start();
  fake.rooms.create({ id: ROOM, creator: "@alice:fake.local", members: [{ userId: fake.bot().userId }] });
});
afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  await fake.close();
});

const syncs = () => fake.requests.filter((r) => r.path.includes("/sync")).length;

/**
 * A replica standing by for a Matrix account never calls `start` (another replica holds its `/sync`), yet its
 * cron jobs and API turns deliver to the account's rooms: sends are client-server API calls.
 */
describe("sending from an adapter that was never started (a standby replica)", () => {
  it("sends, edits and types through the homeserver without ever syncing", async () => {
    const standby = createMatrixAdapter(accountConfig(fake), { account: "default" });
    adapters.push(standby);
    const { messageId } = await standby.send(to, { text: "**report**", format: "markdown" });
    expect(messageId).toMatch(/^\$/);
    await standby.edit!(to, messageId, { text: "report v2", format: "plain" });
    await standby.typing!(to);
    expect(fake.sent()).toMatchObject([{ chatId: ROOM, text: "report" }]);
    expect(fake.edits()).toHaveLength(1);
    expect(syncs()).toBe(0);
  });

  it("the same account started elsewhere keeps receiving; both send to the room", async () => {
    const holder = (await startAdapter(fake)).adapter;
    adapters.push(holder);
    const standby = createMatrixAdapter(accountConfig(fake), { account: "default" });
    adapters.push(standby);
    const before = syncs();
    await standby.send(to, { text: "from the standby", format: "plain" });
    await holder.send(to, { text: "from the holder", format: "plain" });
    expect(fake.sent().map((m) => m.text)).toEqual(["from the standby", "from the holder"]);
    // Only the holder syncs (its long poll may have come round again meanwhile).
    expect(syncs()).toBeGreaterThanOrEqual(before);
  });

  it("a standby that takes the account over starts syncing after its sends (start drops the send-only client)", async () => {
    const adapter = createMatrixAdapter(accountConfig(fake), { account: "default" });
    adapters.push(adapter);
    await adapter.send(to, { text: "before", format: "plain" });
    await adapter.start({
      dispatch: async () => {},
      logger: memoryLogger(),
      signal: new AbortController().signal,
      http: { route: () => {} },
    });
    expect(syncs()).toBeGreaterThan(0);
    await adapter.send(to, { text: "after", format: "plain" });
    expect(fake.sent().map((m) => m.text)).toEqual(["before", "after"]);
  });
});
