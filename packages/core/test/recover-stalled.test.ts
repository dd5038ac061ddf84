import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RECOVER_WINDOW_MS, recoverStalled } from "../src/gateway/recover.ts";
import { memoryLogger } from "../src/logger.ts";
import type { InboundMessage } from "../src/platform.ts";
import type { SessionSource } from "../src/sessions/source.ts";
import { openSessionStore } from "../src/sessions/store.ts";
import type { SessionRecord, SessionStore } from "../src/sessions/store-types.ts";

const dirs: string[] = [];
const stores: SessionStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(): SessionStore {
  const dir = mkdtempSync(join(tmpdir(), "sb-stalled-"));
  dirs.push(dir);
  const s = openSessionStore(join(dir, "state.db"));
  stores.push(s);
  return s;
}

const source = (chat: string, platform = "slack"): SessionSource => ({
  platform,
  account: "default",
  chatType: "dm",
  chatId: chat,
  userId: `u-${chat}`,
  agentId: "main",
});
const keyOf = (chat: string, platform = "slack") => `agent:main:${platform}:dm:${chat}`;

/** Store `text` in the chat's session, claimed into its inbox at `at`. */
async function claimed(s: SessionStore, chat: string, text: string, at: number, platform = "slack") {
  return s.getOrCreate(keyOf(chat, platform), source(chat, platform), {
    now: at,
    append: [{ role: "user", content: text }],
    claim: { platform, account: "default", chatId: chat, messageId: text },
  });
}

describe("inboxes a dead replica left behind", () => {
  it("queues each session's stalled inbox as one turn in claim order, skipping busy sessions and other accounts", async () => {
    const s = store();
    const now = Date.now();
    const a1 = await claimed(s, "A", "a1", now - 5000);
    const a2 = await claimed(s, "A", "a2", now - 4000);
    await claimed(s, "B", "b1", now - 5000);
    await claimed(s, "T", "t1", now - 5000, "telegram");
    // Too young to count as left: someone may be about to run it.
    await claimed(s, "C", "c1", now - 100);
    const queued: Array<{ inbound: InboundMessage; session: SessionRecord; ids: number[] }> = [];
    const deps = {
      store: s,
      logger: memoryLogger(),
      now: () => now,
      enqueue: async (inbound: InboundMessage, session: SessionRecord, ids: number[]) => {
        queued.push({ inbound, session, ids });
      },
    };
    const n = await recoverStalled(deps, {
      stalledMs: 1000,
      accounts: (platform) => platform === "slack",
      busy: async (session) => session.chatId === "B",
    });
    expect(n).toBe(1);
    expect(queued).toHaveLength(1);
    expect(queued[0]!.ids).toEqual([a1.messageIds[0], a2.messageIds[0]]);
    expect(queued[0]!.inbound).toMatchObject({
      platform: "slack",
      account: "default",
      messageId: "a2",
      chat: { id: "A", type: "dm" },
      text: "a1\n\na2",
    });
    // Queuing does not answer: the inbox keeps them until a turn has.
    expect(await s.inbound.unanswered(a1.session.id)).toHaveLength(2);
  });

  it("drops from the inbox what nobody will answer: a session since reset, or messages past the window", async () => {
    const s = store();
    const now = Date.now();
    const old = await claimed(s, "A", "too-old", now - RECOVER_WINDOW_MS - 1000);
    const fresh = await claimed(s, "A", "recent", now - 5000);
    const ended = await claimed(s, "B", "b1", now - 5000);
    await s.end(ended.session.id, "reset");
    const queued: number[][] = [];
    const logger = memoryLogger();
    await recoverStalled(
      {
        store: s,
        logger,
        now: () => now,
        enqueue: async (_i, _s, ids) => {
          queued.push(ids);
        },
      },
      { stalledMs: 1000, busy: async () => false },
    );
    expect(queued).toEqual([[fresh.messageIds[0]]]);
    expect((await s.inbound.unanswered(old.session.id)).map((m) => m.content)).toEqual(["recent"]);
    expect(await s.inbound.unanswered(ended.session.id)).toEqual([]);
    expect(logger.entries.some((l) => l.level === "warn" && l.msg.includes("dropped messages"))).toBe(true);
  });
});
