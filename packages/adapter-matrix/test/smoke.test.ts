import { afterEach, expect, it } from "vitest";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { startAdapter } from "./helpers.ts";

let fake: FakeHomeserver | undefined;
afterEach(async () => { await fake?.close(); });

it("smoke", async () => {
  fake = await FakeHomeserver.start();
  await new Promise((r) => setTimeout(r, 50));
  const before = process.getActiveResourcesInfo();
  let t = performance.now(); const lap = (l: string) => { console.log(l, (performance.now() - t).toFixed(0)); t = performance.now(); };
  const h = await startAdapter(fake); lap("start");
  await fake.inject({ chatType: "dm", chatId: "!dm:fake.local", userId: "@alice:fake.local", userName: "Alice", text: "hello" });
  const m = await h.next(); lap("inbound");
  console.log(m.user);
  await h.adapter.send({ platform: "matrix", account: "default", chatId: m.chat.id }, { text: "**hi** there", format: "markdown" });
  await h.adapter.typing({ platform: "matrix", account: "default", chatId: m.chat.id });
  lap("send+typing"); const mid = process.getActiveResourcesInfo();
  await h.adapter.stop(); lap("stop");
  await new Promise((r) => setTimeout(r, 50));
  console.log({ before, mid, after: process.getActiveResourcesInfo() });
  expect(m.text).toBe("hello");
});
