import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../src/sessions/migrations.ts";
import { openSessionStore, type SqliteSessionStore } from "../src/sessions/store.ts";
import { type LegacySession, writeLegacyDb } from "./helpers/legacy-db.ts";

const T0 = 1_712_000_000.25; // epoch seconds, REAL, the way upstream wrote them

const LEGACY: LegacySession[] = [
  {
    id: "20240401_193320_a1b2c3d4",
    source: "telegram",
    userId: "123456",
    model: "anthropic/claude-sonnet",
    startedAt: T0,
    endedAt: T0 + 600,
    endReason: "session_reset",
    title: "Kubernetes upgrade",
    inputTokens: 1200,
    messages: [
      { role: "user", content: "how do I upgrade the kubernetes cluster?", timestamp: T0 + 1 },
      {
        role: "assistant",
        content: null,
        timestamp: T0 + 2,
        toolCalls: '[{"id":"c1","name":"terminal"}]',
        toolName: "terminal",
      },
      { role: "tool", content: "kubectl version: v1.29", timestamp: T0 + 3 },
      {
        role: "assistant",
        content: "Drain the nodes one by one, then upgrade kubelet.",
        timestamp: T0 + 4.5,
      },
    ],
  },
  {
    id: "20240402_080000_deadbeef",
    source: "discord",
    userId: "987",
    startedAt: T0 + 86_400,
    title: "Dentist",
    messages: [{ role: "user", content: "remind me about the dentist appointment", timestamp: T0 + 86_401 }],
  },
  { id: "20240403_090000_00000000", source: "cli", startedAt: T0 + 2 * 86_400, messages: [] },
];

let dir: string;
let file: string;
let store: SqliteSessionStore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-migrate-"));
  file = join(dir, "state.db");
  writeLegacyDb(file, LEGACY);
});
afterEach(() => {
  store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("upgrading a database written by the upstream April v6 schema", () => {
  it("keeps every session and message and attributes them to main", async () => {
    store = openSessionStore(file);
    const sessions = await store.list({ includeEnded: true, limit: 100 });
    expect(sessions.map((s) => s.id).sort()).toEqual(LEGACY.map((s) => s.id).sort());
    for (const s of sessions) expect(s.agentId).toBe("main");
    const count = store.db.prepare("SELECT COUNT(*) AS n FROM messages").get() as { n: number };
    expect(count.n).toBe(5);
  });

  it("moves source to platform and converts REAL seconds to epoch milliseconds", async () => {
    store = openSessionStore(file);
    const s = (await store.get("20240401_193320_a1b2c3d4"))!;
    expect(s).toMatchObject({
      platform: "telegram",
      userId: "123456",
      model: "anthropic/claude-sonnet",
      startedAt: 1_712_000_000_250,
      endedAt: 1_712_000_600_250,
      endReason: "session_reset",
      messageCount: 4,
      inputTokens: 1200,
      outputTokens: 3,
      title: "Kubernetes upgrade",
      sessionKey: "",
    });
    // Last activity is the newest message.
    expect(s.updatedAt).toBe(1_712_000_004_750);
    expect(await store.get("20240403_090000_00000000")).toMatchObject({
      platform: "cli",
      messageCount: 0,
      updatedAt: 1_712_172_800_250,
    });
  });

  it("loads the history of an old session in order, with tool calls and null content", async () => {
    store = openSessionStore(file);
    const h = await store.history("20240401_193320_a1b2c3d4");
    expect(h.map((m) => [m.role, m.content, m.createdAt])).toEqual([
      ["user", "how do I upgrade the kubernetes cluster?", 1_712_000_001_250],
      ["assistant", "", 1_712_000_002_250],
      ["tool", "kubectl version: v1.29", 1_712_000_003_250],
      ["assistant", "Drain the nodes one by one, then upgrade kubelet.", 1_712_000_004_750],
    ]);
    expect(h[1]!.toolCalls).toEqual([{ id: "c1", name: "terminal" }]);
    expect((await store.history("20240401_193320_a1b2c3d4", 2)).map((m) => m.role)).toEqual([
      "tool",
      "assistant",
    ]);
  });

  it("rebuilds full-text search over the old messages, scoped to main", async () => {
    store = openSessionStore(file);
    const hits = await store.search("kubernetes");
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ sessionId: "20240401_193320_a1b2c3d4", agentId: "main", role: "user" });
    expect(hits[0]!.snippet).toContain(">>>kubernetes<<<");
    expect(await store.search("dentist", { agentId: "main" })).toHaveLength(1);
    expect(await store.search("dentist", { agentId: "support" })).toHaveLength(0);
  });

  it("sets user_version, keeps the legacy extra columns, and drops only what blocks new writes", () => {
    store = openSessionStore(file);
    expect(store.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    const cols = (store.db.prepare("PRAGMA table_info(sessions)").all() as Array<{ name: string }>).map(
      (c) => c.name,
    );
    expect(cols).toEqual(
      expect.arrayContaining([
        "agent_id",
        "session_key",
        "account",
        "chat_id",
        "system_prompt",
        "billing_provider",
      ]),
    );
    expect(cols).not.toContain("source");
    const mcols = (store.db.prepare("PRAGMA table_info(messages)").all() as Array<{ name: string }>).map(
      (c) => c.name,
    );
    expect(mcols).toEqual(expect.arrayContaining(["created_at", "tool_name", "token_count"]));
    const prompt = store.db
      .prepare("SELECT system_prompt FROM sessions WHERE id = ?")
      .get("20240401_193320_a1b2c3d4");
    expect(prompt).toEqual({ system_prompt: "You are Hermes." });
  });

  it("accepts new sessions and messages next to the old rows, searchable together", async () => {
    store = openSessionStore(file);
    const { session } = await store.getOrCreate(
      "agent:support:telegram@support:dm:42",
      { platform: "telegram", account: "support", chatType: "dm", chatId: "42", agentId: "support" },
      { now: 1_800_000_000_000 },
    );
    await store.append(session.id, [
      { role: "user", content: "kubernetes again", createdAt: 1_800_000_000_001 },
    ]);
    // Upstream had a unique index on titles; titles repeat freely now.
    await store.setTitle(session.id, "Kubernetes upgrade");
    expect((await store.search("kubernetes")).map((h) => h.agentId)).toEqual(["support", "main"]);
    expect(await store.search("kubernetes", { agentId: "support" })).toHaveLength(1);
    expect(await store.get(session.id)).toMatchObject({
      agentId: "support",
      account: "support",
      messageCount: 1,
    });
  });

  it("indexes only delegated sessions by parent: starting a session writes no page of that index", async () => {
    store = openSessionStore(file, { backgroundCheckpoints: false });
    const db = store.db;
    expect(
      db.prepare("SELECT sql FROM sqlite_master WHERE name = 'idx_sessions_parent'").pluck().get(),
    ).toMatch(/WHERE parent_session_id IS NOT NULL/);
    const source = { platform: "api", chatType: "dm" as const, chatId: "x" };
    const parent = (await store.getOrCreate("agent:main:api:dm:x", source)).session;
    await store.ensure("child-1", "agent:main:delegate:child-1", source, { parentSessionId: parent.id });
    expect((await store.children(parent.id)).map((s) => s.id)).toEqual(["child-1"]);
    expect(
      (
        db
          .prepare("EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE parent_session_id = ?")
          .all("p") as Array<{
          detail: string;
        }>
      )[0]!.detail,
    ).toMatch(/USING INDEX idx_sessions_parent/);
    // The pages a new session's commit writes to the WAL: none of them is the parent index's.
    db.pragma("wal_checkpoint(TRUNCATE)");
    await store.getOrCreate("agent:main:api:dm:y", { ...source, chatId: "y" });
    const wal = readFileSync(`${file}-wal`);
    const written = new Set<number>();
    for (let at = 32; at + 24 <= wal.length; at += 24 + 4096) written.add(wal.readUInt32BE(at));
    const pagesOf = (name: string) =>
      db.prepare("SELECT pageno FROM dbstat WHERE name = ?").pluck().all(name) as number[];
    expect(pagesOf("idx_sessions_key").some((p) => written.has(p))).toBe(true);
    expect(pagesOf("idx_sessions_parent").some((p) => written.has(p))).toBe(false);
  });

  it("upgrades once: reopening does not convert timestamps again", async () => {
    await openSessionStore(file).close();
    store = openSessionStore(file);
    expect((await store.get("20240401_193320_a1b2c3d4"))!.startedAt).toBe(1_712_000_000_250);
    expect(await store.search("dentist")).toHaveLength(1);
  });

  it("refuses a file from a newer schema instead of corrupting it", async () => {
    await openSessionStore(file).close();
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openSessionStore(file)).toThrow(/newer than this Switchboard understands/);
  });
});
