import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResetPolicy } from "../src/config/schema.ts";
import { buildSessionKey } from "../src/sessions/key.ts";
import type { SessionSource } from "../src/sessions/source.ts";
import {
  ftsQuery,
  lastDailyBoundary,
  openSessionStore,
  type SqliteSessionStore,
} from "../src/sessions/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let dir: string;
let clock: number;
let store: SqliteSessionStore;

const reopen = async () => {
  await store.close();
  store = openSessionStore(join(dir, "state.db"), { now: () => clock });
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-store-"));
  clock = new Date(2026, 0, 10, 12, 0, 0).getTime(); // local noon
  store = openSessionStore(join(dir, "state.db"), { now: () => clock });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const dm = (chatId: string, agentId?: string, account?: string): SessionSource => ({
  platform: "telegram",
  chatType: "dm",
  chatId,
  userId: chatId,
  ...(agentId ? { agentId } : {}),
  ...(account ? { account } : {}),
});
const keyOf = (s: SessionSource) => buildSessionKey(s);
const policy = (p: Partial<ResetPolicy>): ResetPolicy => ({
  mode: "none",
  idle_minutes: 1440,
  at_hour: 4,
  ...p,
});

describe("getOrCreate", () => {
  it("starts a session with an upstream-format id and the source's columns", async () => {
    const source: SessionSource = {
      platform: "discord",
      account: "ops",
      chatType: "thread",
      chatId: "T1",
      threadId: "T1",
      userId: "u9",
      agentId: "ops",
    };
    const r = await store.getOrCreate(keyOf(source), source, { model: "gpt-4.1-mini" });
    expect(r.created).toBe(true);
    expect(r.reason).toBe("new");
    expect(r.session.id).toMatch(/^20260110_120000_[0-9a-f]{8}$/);
    expect(r.session).toMatchObject({
      sessionKey: "agent:ops:discord@ops:thread:T1:T1",
      agentId: "ops",
      platform: "discord",
      account: "ops",
      chatId: "T1",
      chatType: "thread",
      threadId: "T1",
      userId: "u9",
      model: "gpt-4.1-mini",
      startedAt: clock,
      updatedAt: clock,
      endedAt: null,
      messageCount: 0,
    });
  });

  it("returns the same session for the same key and touches its activity time", async () => {
    const a = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    clock += 5 * MINUTE;
    const b = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    expect(b.created).toBe(false);
    expect(b.reason).toBeUndefined();
    expect(b.session.id).toBe(a.session.id);
    expect(b.session.updatedAt).toBe(clock);
  });

  it("with two active sessions of a key (a race), uses the latest started, then the latest inserted", async () => {
    const key = keyOf(dm("7"));
    const first = (await store.getOrCreate(key, dm("7"))).session;
    const copy = (id: string, startedAt: number) =>
      store.db
        .prepare(
          "INSERT INTO sessions (id, session_key, agent_id, platform, chat_id, chat_type, user_id, started_at, updated_at) SELECT ?, session_key, agent_id, platform, chat_id, chat_type, user_id, ?, ? FROM sessions WHERE id = ?",
        )
        .run(id, startedAt, startedAt, first.id);
    copy("later", first.startedAt + 1000);
    copy("earlier", first.startedAt - 1000);
    expect((await store.findActive(key))?.id).toBe("later");
    copy("same-time-newer-row", first.startedAt + 1000);
    expect((await store.findActive(key))?.id).toBe("same-time-newer-row");
    expect((await store.getOrCreate(key, dm("7"))).session.id).toBe("same-time-newer-row");
  });

  it("keeps two agents in one chat in separate sessions", async () => {
    const main = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    const ops = await store.getOrCreate(keyOf(dm("1", "ops")), dm("1", "ops"));
    expect(ops.session.id).not.toBe(main.session.id);
    expect(ops.session.agentId).toBe("ops");
    expect(main.session.agentId).toBe("main");
    expect((await store.findActive(keyOf(dm("1", "ops"))))!.id).toBe(ops.session.id);
  });

  it("never resets with mode none, even after a year of silence", async () => {
    const a = await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset: policy({ mode: "none" }) });
    clock += 365 * 24 * HOUR;
    expect(
      (await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset: policy({ mode: "none" }) })).session.id,
    ).toBe(a.session.id);
  });

  it("resets after idle_minutes without activity and ends the old session with reason idle", async () => {
    const reset = policy({ mode: "idle", idle_minutes: 60 });
    const a = await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset });
    clock += 59 * MINUTE;
    await store.append(a.session.id, [{ role: "user", content: "still here" }]);
    clock += 60 * MINUTE; // 60 minutes after the last message: not yet over
    expect((await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset })).session.id).toBe(a.session.id);
    clock += 61 * MINUTE;
    const b = await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset });
    expect(b).toMatchObject({ created: true, reason: "idle" });
    expect(b.session.id).not.toBe(a.session.id);
    expect(b.previous).toMatchObject({ id: a.session.id, endedAt: clock, endReason: "idle" });
    expect((await store.findActive(keyOf(dm("1"))))!.id).toBe(b.session.id);
  });

  it("resets daily at at_hour local time", async () => {
    const reset = policy({ mode: "daily", at_hour: 4 });
    clock = new Date(2026, 0, 10, 3, 59).getTime();
    const a = await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset });
    clock = new Date(2026, 0, 10, 4, 0).getTime();
    const b = await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset });
    expect(b).toMatchObject({
      created: true,
      reason: "daily",
      previous: { id: a.session.id, endReason: "daily" },
    });
    clock = new Date(2026, 0, 11, 3, 59).getTime(); // the next boundary is not reached yet
    expect((await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset })).session.id).toBe(b.session.id);
    clock = new Date(2026, 0, 12, 4, 30).getTime();
    expect(await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset })).toMatchObject({
      created: true,
      reason: "daily",
    });
  });

  it("computes the daily boundary as today at at_hour, or yesterday before it", () => {
    expect(lastDailyBoundary(new Date(2026, 4, 3, 10).getTime(), 4)).toBe(new Date(2026, 4, 3, 4).getTime());
    expect(lastDailyBoundary(new Date(2026, 4, 3, 3).getTime(), 4)).toBe(new Date(2026, 4, 2, 4).getTime());
    expect(lastDailyBoundary(new Date(2026, 4, 1, 0).getTime(), 23)).toBe(
      new Date(2026, 3, 30, 23).getTime(),
    );
  });

  it("applies both idle and daily with mode both", async () => {
    const reset = policy({ mode: "both", idle_minutes: 30, at_hour: 4 });
    clock = new Date(2026, 0, 10, 10, 0).getTime();
    await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset });
    clock += 31 * MINUTE;
    expect((await store.getOrCreate(keyOf(dm("1")), dm("1"), { reset })).reason).toBe("idle");
    clock = new Date(2026, 0, 11, 3, 50).getTime();
    await store.getOrCreate(keyOf(dm("2")), dm("2"), { reset });
    clock = new Date(2026, 0, 11, 4, 5).getTime(); // 15 minutes later, but across the boundary
    expect((await store.getOrCreate(keyOf(dm("2")), dm("2"), { reset })).reason).toBe("daily");
  });

  it("starts fresh on forceNew (/new, /reset) and ends the old one with reason reset", async () => {
    const a = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    await store.append(a.session.id, [{ role: "user", content: "hi" }]);
    const b = await store.getOrCreate(keyOf(dm("1")), dm("1"), { forceNew: true });
    expect(b).toMatchObject({
      created: true,
      reason: "reset",
      previous: { id: a.session.id, endReason: "reset" },
    });
    expect(await store.history(b.session.id)).toEqual([]);
    expect(await store.history(a.session.id)).toHaveLength(1);
  });
});

describe("messages", () => {
  it("appends a batch in one transaction and keeps count and activity time", async () => {
    const { session } = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    await store.append(session.id, [
      { role: "user", content: "what's the weather?", createdAt: clock + 1 },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "c1", name: "weather", input: { city: "Oslo" } }],
        createdAt: clock + 2,
      },
      { role: "tool", content: '{"temp": -3}', toolCallId: "c1", createdAt: clock + 3 },
      { role: "assistant", content: "It is -3 °C in Oslo.", createdAt: clock + 4 },
    ]);
    const s = (await store.get(session.id))!;
    expect(s.messageCount).toBe(4);
    expect(s.updatedAt).toBe(clock + 4);
    const h = await store.history(session.id);
    expect(h.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(h[1]!.toolCalls).toEqual([{ id: "c1", name: "weather", input: { city: "Oslo" } }]);
    expect(h[2]!.toolCallId).toBe("c1");
    expect(h[0]!.toolCalls).toBeNull();
  });

  it("rolls the whole batch back when the session does not exist", async () => {
    await expect(store.append("nope", [{ role: "user", content: "lost" }])).rejects.toThrow(
      /no session nope/,
    );
    expect((store.db.prepare("SELECT COUNT(*) AS n FROM messages").get() as { n: number }).n).toBe(0);
    expect(await store.search("lost")).toEqual([]);
  });

  it("loads the last N messages oldest first, 50 by default", async () => {
    const { session } = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    const other = (await store.getOrCreate(keyOf(dm("2")), dm("2"))).session;
    for (let i = 0; i < 120; i++) {
      await store.append(session.id, [{ role: "user", content: `m${i}` }]);
      await store.append(other.id, [{ role: "user", content: `other${i}` }]);
    }
    const h = await store.history(session.id);
    expect(h).toHaveLength(50);
    expect(h[0]!.content).toBe("m70");
    expect(h[49]!.content).toBe("m119");
    expect((await store.history(session.id, 3)).map((m) => m.content)).toEqual(["m117", "m118", "m119"]);
    expect(await store.history(session.id, 0)).toEqual([]);
    expect(await store.history("missing")).toEqual([]);
  });

  it("loads history through the (session_id, id) index without sorting", () => {
    const plan = store.db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT id, session_id, role, content, tool_calls, tool_call_id, created_at FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?",
      )
      .all("x", 50) as Array<{ detail: string }>;
    const details = plan.map((p) => p.detail).join("\n");
    expect(details).toMatch(/USING (COVERING )?INDEX idx_messages_session_id/);
    expect(details).not.toMatch(/TEMP B-TREE/);
  });
});

describe("search", () => {
  const seed = async () => {
    const main = (await store.getOrCreate(keyOf(dm("1")), dm("1"))).session;
    const ops = (await store.getOrCreate(keyOf(dm("1", "ops")), dm("1", "ops"))).session;
    await store.append(main.id, [
      { role: "user", content: "the deploy failed on friday", createdAt: clock + 1 },
    ]);
    await store.append(ops.id, [
      { role: "user", content: "deploy the billing service", createdAt: clock + 2 },
    ]);
    await store.append(main.id, [
      { role: "assistant", content: 'run "make deploy" with --force (careful!)', createdAt: clock + 3 },
    ]);
    await store.append(ops.id, [
      { role: "user", content: "Déploiement: café au lait", createdAt: clock + 4 },
    ]);
    return { main, ops };
  };

  it("finds messages newest first with a highlighted snippet", async () => {
    const { main, ops } = await seed();
    const hits = await store.search("deploy");
    expect(hits.map((h) => [h.sessionId, h.createdAt])).toEqual([
      [main.id, clock + 3],
      [ops.id, clock + 2],
      [main.id, clock + 1],
    ]);
    expect(hits[1]).toMatchObject({ agentId: "ops", role: "user" });
    expect(hits[1]!.snippet).toBe(">>>deploy<<< the billing service");
  });

  it("scopes results to one agent", async () => {
    await seed();
    expect((await store.search("deploy", { agentId: "ops" })).map((h) => h.agentId)).toEqual(["ops"]);
    expect((await store.search("deploy", { agentId: "main" })).map((h) => h.agentId)).toEqual([
      "main",
      "main",
    ]);
    expect(await store.search("deploy", { agentId: "nobody" })).toEqual([]);
    expect(await store.search("deploy", { limit: 1 })).toHaveLength(1);
  });

  it("requires every word, supports a trailing * prefix, and folds case and accents", async () => {
    await seed();
    expect(await store.search("deploy friday")).toHaveLength(1);
    expect(await store.search("deploy saturday")).toHaveLength(0);
    expect(await store.search("bill*")).toHaveLength(1);
    expect(await store.search("CAFE")).toHaveLength(1);
  });

  const HOSTILE = [
    '"',
    '""',
    '"make deploy',
    "deploy AND",
    "OR",
    "NOT deploy",
    "NEAR(deploy friday)",
    "deploy*)",
    "(((",
    "col:deploy",
    "content:deploy",
    "^deploy",
    "*",
    "-deploy",
    "+",
    "{deploy}",
    "'; DROP TABLE messages; --",
    "\u0000",
    "   ",
    "",
    "deploy\nfriday",
    "🚀",
  ];
  it.each(HOSTILE)("treats %j as text instead of query syntax", async (q) => {
    await seed();
    await expect(store.search(q)).resolves.toBeInstanceOf(Array);
    await expect(store.search(q, { agentId: "ops" })).resolves.toBeInstanceOf(Array);
  });

  it("still finds the words inside hostile input", async () => {
    await seed();
    expect((await store.search('"make deploy')).length).toBe(1);
    expect((await store.search("NOT deploy")).length).toBe(0); // "not" is a word the messages lack, not an operator
    expect(await store.search("(((deploy friday")).toHaveLength(1);
    expect(await store.search("'; DROP TABLE messages; --")).toEqual([]);
    expect((await store.search("deploy")).length).toBe(3);
  });

  it("indexes appends in batches yet never misses one in a search", async () => {
    const { session } = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    const watermark = () =>
      store.db.prepare("SELECT value FROM kv WHERE key = 'fts_indexed_id'").pluck().get();
    await store.append(session.id, [{ role: "user", content: "first zebra" }]);
    expect(watermark()).toBeUndefined(); // not indexed yet: appends stay cheap
    expect(await store.search("zebra")).toHaveLength(1); // search catches up first
    expect(Number(watermark())).toBe(1);
    for (let i = 0; i < 300; i++) await store.append(session.id, [{ role: "user", content: `bulk ${i}` }]);
    expect(Number(watermark())).toBeGreaterThanOrEqual(256); // a busy writer indexes as it goes
    expect(await store.search("bulk")).toHaveLength(20);
    expect(await store.search("bulk", { limit: 1000 })).toHaveLength(300);
  });

  it("keeps the index exact when indexed and not-yet-indexed messages are edited or deleted", async () => {
    const { session } = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    await store.append(session.id, [
      { role: "user", content: "alpha one" },
      { role: "user", content: "bravo two" },
    ]);
    expect(await store.search("alpha")).toHaveLength(1); // indexes both
    await store.append(session.id, [
      { role: "user", content: "charlie three" },
      { role: "user", content: "delta four" },
    ]);
    const update = store.db.prepare("UPDATE messages SET content = ? WHERE content = ?");
    update.run("alpha renamed", "alpha one"); // indexed row
    update.run("charlie renamed", "charlie three"); // pending row
    store.db.prepare("DELETE FROM messages WHERE content IN ('bravo two', 'delta four')").run();
    expect((await store.search("renamed")).map((h) => h.snippet).sort()).toEqual([
      "alpha >>>renamed<<<",
      "charlie >>>renamed<<<",
    ]);
    expect(await store.search("one")).toEqual([]);
    expect(await store.search("bravo")).toEqual([]);
    expect(await store.search("delta")).toEqual([]);
    expect(() =>
      store.db.prepare("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)").run(),
    ).not.toThrow();
  });

  it("quotes every term so FTS5 never sees an operator", () => {
    expect(ftsQuery('say "hi" NEAR(x) bill*')).toBe('"say" """hi""" "NEAR(x)" "bill"*');
    expect(ftsQuery(' " * - ')).toBe("");
  });
});

describe("records", () => {
  it("keeps everything across close and reopen, in WAL mode", async () => {
    const { session } = await store.getOrCreate(keyOf(dm("1")), dm("1"));
    await store.append(session.id, [{ role: "user", content: "remember the milk" }]);
    await store.addUsage(session.id, { inputTokens: 100, outputTokens: 20 });
    await store.setTitle(session.id, "Groceries");
    await reopen();
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(await store.get(session.id)).toMatchObject({
      messageCount: 1,
      inputTokens: 100,
      outputTokens: 20,
      title: "Groceries",
    });
    expect((await store.history(session.id)).map((m) => m.content)).toEqual(["remember the milk"]);
    expect(await store.search("milk")).toHaveLength(1);
    expect((await store.findActive(keyOf(dm("1"))))!.id).toBe(session.id);
  });

  it("ensures a caller-chosen id once and refuses to hand it to another agent", async () => {
    const { session: a } = await store.ensure("api_abc", "agent:ops:api_server:dm:abc", {
      platform: "api_server",
      chatType: "dm",
      chatId: "abc",
      agentId: "ops",
    });
    expect(a).toMatchObject({ id: "api_abc", agentId: "ops", platform: "api_server" });
    clock += MINUTE;
    expect(
      (
        await store.ensure("api_abc", "agent:ops:api_server:dm:abc", {
          platform: "api_server",
          chatType: "dm",
          agentId: "ops",
        })
      ).session.startedAt,
    ).toBe(a.startedAt);
    await expect(
      store.ensure("api_abc", "agent:main:api_server:dm:abc", {
        platform: "api_server",
        chatType: "dm",
        chatId: "abc",
      }),
    ).rejects.toThrow(/belongs to agent "ops"/);
  });

  it("creates a missing session in the append that stores its first messages, as ensure would", async () => {
    const source: SessionSource = { platform: "api", chatType: "dm", chatId: "x", agentId: "ops" };
    const key = "agent:ops:api_server:session:x";
    const created = await store.ensure("api_made", key, source, { model: "m1" });
    clock += MINUTE;
    const ids = await store.append(
      "api_new",
      [
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
      ],
      { usage: { inputTokens: 3, outputTokens: 5 }, create: { sessionKey: key, source, model: "m1" } },
    );
    expect(ids).toHaveLength(2);
    const row = (await store.get("api_new"))!;
    // The same row `ensure` writes, with the messages and usage of the append.
    expect(row).toEqual({
      ...created.session,
      id: "api_new",
      startedAt: clock,
      updatedAt: clock,
      messageCount: 2,
      inputTokens: 3,
      outputTokens: 5,
    });
    // An existing session of the agent just gets the messages; another agent's id is refused, nothing stored.
    await store.append("api_new", [{ role: "user", content: "again" }], {
      create: { sessionKey: key, source },
    });
    expect((await store.get("api_new"))!).toMatchObject({ messageCount: 3, startedAt: row.startedAt });
    await expect(
      store.append("api_new", [{ role: "user", content: "stolen" }], {
        create: {
          sessionKey: "agent:main:api_server:session:x",
          source: { platform: "api", chatType: "dm" },
        },
      }),
    ).rejects.toThrow(/belongs to agent "ops"/);
    expect((await store.history("api_new")).map((m) => m.content)).toEqual(["hi", "hello", "again"]);
  });

  it("returns the row ensure created as a later read sees it", async () => {
    const source: SessionSource = {
      platform: "api",
      chatType: "dm",
      chatId: "y",
      userId: "u",
      agentId: "ops",
    };
    const { session } = await store.ensure("api_y", "agent:ops:api_server:session:y", source, { model: "m" });
    expect(session).toEqual(await store.get("api_y"));
    const opened = await store.getOrCreate(keyOf(dm("7")), dm("7"), { model: "m" });
    expect(opened.session).toEqual(await store.get(opened.session.id));
  });

  it("ends a session once and lists active sessions newest first, per agent", async () => {
    const a = (await store.getOrCreate(keyOf(dm("1")), dm("1"))).session;
    clock += 1;
    const b = (await store.getOrCreate(keyOf(dm("2", "ops")), dm("2", "ops"))).session;
    clock += 1;
    const c = (await store.getOrCreate(keyOf(dm("3")), dm("3"))).session;
    await store.end(a.id, "user_exit", clock + 5);
    await store.end(a.id, "again", clock + 9);
    expect(await store.get(a.id)).toMatchObject({ endedAt: clock + 5, endReason: "user_exit" });
    expect(await store.findActive(keyOf(dm("1")))).toBeUndefined();
    expect((await store.list()).map((s) => s.id)).toEqual([c.id, b.id]);
    expect((await store.list({ agentId: "main", includeEnded: true })).map((s) => s.id)).toEqual([
      c.id,
      a.id,
    ]);
    expect((await store.list({ agentId: "ops" })).map((s) => s.id)).toEqual([b.id]);
    expect(await store.list({ limit: 1 })).toHaveLength(1);
  });

  it("creates the cron lease and key-value tables for later use", async () => {
    store.db
      .prepare("INSERT INTO cron_leases (job_key, holder, expires_at) VALUES (?, ?, ?)")
      .run("main/daily", "pid:1", clock);
    store.db.prepare("INSERT INTO kv (key, value) VALUES (?, ?)").run("k", "v");
    await reopen();
    expect(store.db.prepare("SELECT holder FROM cron_leases").get()).toEqual({ holder: "pid:1" });
    expect(store.db.prepare("SELECT value FROM kv WHERE key = 'k'").get()).toEqual({ value: "v" });
  });
});
