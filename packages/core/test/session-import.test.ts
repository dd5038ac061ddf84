import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openSessionStore, readForeignStateDb } from "../src/index.ts";
import { writeLegacyDb } from "./helpers/legacy-db.ts";

const dir = mkdtempSync(join(tmpdir(), "sb-session-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("readForeignStateDb", () => {
  it("reads an upstream v6 state.db through the migrations, leaving the file and its directory as they were", async () => {
    const sub = join(dir, "hermes");
    const file = join(sub, "state.db");
    mkdirSync(sub);
    writeLegacyDb(file, [
      {
        id: "20260101_080000_00000001",
        source: "telegram",
        userId: "42",
        startedAt: 1_767_254_400.5,
        endedAt: 1_767_258_000,
        endReason: "session_reset",
        title: "old",
        messages: [{ role: "user", content: "hello", timestamp: 1_767_254_401.25 }],
      },
    ]);
    // A write still in the WAL (not checkpointed) must be seen too: the copy takes the WAL with it.
    const live = new BetterSqlite3(file);
    live.pragma("wal_autocheckpoint = 0");
    live
      .prepare(
        "INSERT INTO sessions (id, source, started_at) VALUES ('20260102_080000_00000002', 'discord', 1767340800)",
      )
      .run();
    live
      .prepare(
        "INSERT INTO messages (session_id, role, content, timestamp) VALUES ('20260102_080000_00000002', 'user', 'in the wal', 1767340801)",
      )
      .run();
    const before = { db: digest(file), wal: digest(`${file}-wal`), entries: readdirSync(sub).sort() };

    const state = await readForeignStateDb(file);
    const after = { db: digest(file), wal: digest(`${file}-wal`), entries: readdirSync(sub).sort() };
    live.close();

    expect(state.sessions.map((s) => [s.record.id, s.record.platform, s.record.agentId])).toEqual([
      ["20260101_080000_00000001", "telegram", "main"],
      ["20260102_080000_00000002", "discord", "main"],
    ]);
    expect(state.sessions[0]!.record).toMatchObject({
      startedAt: 1_767_254_400_500,
      endReason: "session_reset",
    });
    expect(state.sessions[0]!.messages.map((m) => [m.content, m.createdAt])).toEqual([
      ["hello", 1_767_254_401_250],
    ]);
    expect(state.sessions[1]!.messages.map((m) => m.content)).toEqual(["in the wal"]);
    expect(state.routing).toEqual([]);
    expect(after).toEqual(before);
  });
});

describe("SessionStore.importSessions", () => {
  it("writes sessions with their own ids, keys and times; a repeat is skipped; the chat continues the session", async () => {
    const store = openSessionStore(join(dir, "target.db"));
    try {
      const item = {
        session: {
          id: "20260601_100000_bbbb0001",
          sessionKey: "agent:support:telegram@support:dm:777",
          agentId: "support",
          platform: "telegram",
          account: "support",
          chatId: "777",
          chatType: "dm",
          threadId: null,
          userId: "777",
          model: "m",
          startedAt: 1000,
          updatedAt: 1000,
          endedAt: null,
          endReason: null,
          inputTokens: 5,
          outputTokens: 6,
          title: "t",
        },
        messages: [
          { role: "user" as const, content: "my name is Ada", createdAt: 1000 },
          {
            role: "assistant" as const,
            content: "",
            toolCalls: [{ id: "c1", name: "x", input: {} }],
            createdAt: 1500,
          },
          { role: "tool" as const, content: "ok", toolCallId: "c1", createdAt: 1600 },
        ],
      };
      expect(await store.importSessions([item])).toEqual({ sessions: 1, messages: 3, skipped: [] });
      expect(await store.importSessions([item])).toEqual({
        sessions: 0,
        messages: 0,
        skipped: [item.session.id],
      });
      expect(await store.get(item.session.id)).toMatchObject({
        messageCount: 3,
        updatedAt: 1600,
        inputTokens: 5,
      });
      const next = await store.getOrCreate(item.session.sessionKey, { platform: "telegram", chatType: "dm" });
      expect(next.created).toBe(false);
      expect(next.session.id).toBe(item.session.id);
      expect(
        (await store.history(item.session.id)).map((m) => m.toolCallId ?? m.toolCalls ?? m.content),
      ).toEqual(["my name is Ada", [{ id: "c1", name: "x", input: {} }], "c1"]);
      expect(await store.search("Ada", { agentId: "support" })).toHaveLength(1);
      expect(existsSync(join(dir, "target.db"))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
