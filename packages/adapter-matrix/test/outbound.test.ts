import { PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MatrixAdapter } from "../src/index.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { startAdapter } from "./helpers.ts";

const ROOM = "!out:fake.local";
const to = { platform: "matrix", account: "default", chatId: ROOM };
let fake: FakeHomeserver;
let adapter: MatrixAdapter;

beforeEach(async () => {
  fake = await FakeHomeserver.start();
  fake.rooms.create({ id: ROOM, creator: "@alice:fake.local", members: [{ userId: fake.bot().userId }] });
  adapter = (await startAdapter(fake)).adapter;
});
afterEach(async () => {
  await adapter.stop();
  await fake.close();
});

const sendRequests = () => fake.requests.filter((r) => r.method === "PUT" && r.path.includes("/send/"));

describe("sending", () => {
  it("sends Markdown as org.matrix.custom.html formatted_body with a plain-text body", async () => {
    const { messageId } = await adapter.send(to, {
      text: "**Done**: see `out.txt`\n\n- a\n- b",
      format: "markdown",
    });
    expect(messageId).toMatch(/^\$/);
    const [sent] = fake.sent();
    expect(sent).toMatchObject({
      account: "default",
      chatId: ROOM,
      format: "org.matrix.custom.html",
      text: "Done: see out.txt\n\n- a\n- b",
    });
    expect(sent?.raw).toMatchObject({
      msgtype: "m.text",
      formatted_body: "<p><strong>Done</strong>: see <code>out.txt</code></p><ul><li>a</li><li>b</li></ul>",
    });
  });

  it("sends plain text and unformatted Markdown without formatted_body", async () => {
    await adapter.send(to, { text: "**not bold**", format: "plain" });
    await adapter.send(to, { text: "nothing special", format: "markdown" });
    for (const sent of fake.sent()) {
      expect(sent.format).toBeUndefined();
      expect(sent.raw).not.toHaveProperty("formatted_body");
    }
    expect(fake.sent().map((s) => s.text)).toEqual(["**not bold**", "nothing special"]);
  });

  it("replies inside a thread with an m.thread relation and the reply fallback", async () => {
    await adapter.send({ ...to, threadId: "$root", replyToMessageId: "$last" }, { text: "threaded" });
    const [sent] = fake.sent();
    expect(sent?.threadId).toBe("$root");
    expect(sent?.raw).toMatchObject({
      "m.relates_to": {
        rel_type: "m.thread",
        event_id: "$root",
        is_falling_back: true,
        "m.in_reply_to": { event_id: "$last" },
      },
    });
  });

  it("edits with m.replace and m.new_content", async () => {
    const { messageId } = await adapter.send(to, { text: "draft" });
    await adapter.edit(to, messageId, { text: "**final**" });
    const edit = fake.edits()[0]?.raw;
    expect(edit).toMatchObject({
      body: "* final",
      formatted_body: "* <strong>final</strong>",
      "m.new_content": { msgtype: "m.text", body: "final", formatted_body: "<strong>final</strong>" },
      "m.relates_to": { rel_type: "m.replace", event_id: messageId },
    });
  });

  it("sends typing notifications for the bot", async () => {
    await adapter.typing(to);
    const req = await fake.waitForRequest((r) => r.method === "PUT" && r.path.includes("/typing/"));
    expect(decodeURIComponent(req.path)).toContain(`/rooms/${ROOM}/typing/${fake.bot().userId}`);
    expect(req.body).toMatchObject({ typing: true, timeout: expect.any(Number) });
  });

  it("drops formatted_body when the event would exceed the homeserver's size limit", async () => {
    const angles = "<".repeat(15_000);
    await adapter.send(to, { text: `**x** ${angles}` });
    const raw = fake.sent()[0]?.raw as Record<string, unknown>;
    expect(raw.body).toBe(`x ${angles}`);
    expect(raw).not.toHaveProperty("formatted_body");
  });
});

describe("errors", () => {
  it("maps 429 M_LIMIT_EXCEEDED to a RateLimitError with retry_after_ms, without retrying in the SDK", async () => {
    fake.failNextSends(429, 1, 2);
    const err = await adapter.send(to, { text: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(2000);
    expect(sendRequests()).toHaveLength(1);
    await adapter.send(to, { text: "hi again" });
    expect(fake.sent().map((s) => s.text)).toEqual(["hi again"]);
  });

  it("maps 5xx to a retryable TransientError and a 404 to a permanent PlatformError", async () => {
    fake.failNextSends(502, 1);
    const transient = await adapter.send(to, { text: "x" }).catch((e: unknown) => e);
    expect(transient).toBeInstanceOf(TransientError);
    expect((transient as TransientError).retryable).toBe(true);
    const missing = await adapter
      .send({ ...to, chatId: "!gone:fake.local" }, { text: "x" })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PlatformError);
    expect((missing as PlatformError).retryable).toBe(false);
    expect((missing as PlatformError).status).toBe(404);
  });

  it("sends plain text once more when the homeserver refuses the formatted message", async () => {
    fake.rejectNextFormatted();
    await adapter.send(to, { text: "**bold** move" });
    expect(sendRequests().map((r) => (r.body as { format?: string }).format)).toEqual([
      "org.matrix.custom.html",
      undefined,
    ]);
    expect(fake.sent().map((m) => [m.text, m.format])).toEqual([["bold move", undefined]]);
  });

  it("fails a send to a room the bot is not in with an AuthError naming the fix", async () => {
    fake.rooms.create({ id: "!other:fake.local", creator: "@alice:fake.local" });
    const err = await adapter
      .send({ ...to, chatId: "!other:fake.local" }, { text: "x" })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe("AuthError");
    expect((err as Error).message).toMatch(/M_FORBIDDEN.*joined to the room/);
  });
});
