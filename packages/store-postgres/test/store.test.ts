import { buildSessionKey, type SessionSource } from "@switchboard/core";
import { createTestDatabase, type TestDatabase } from "@switchboard/testing";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/store.ts";

let db: TestDatabase;
let store: PostgresStore;
let clock: number;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  clock = new Date(2026, 0, 10, 12, 0, 0).getTime();
  store = await openPostgresStore(db.url, { now: () => clock, pool: 4 });
  await store.pool.query(
    "TRUNCATE sessions, messages, responses, usage_events, usage_totals, rate_buckets, cron_leases, inbound_seen, kv",
  );
});
afterEach(async () => {
  await store.close();
});

const dm = (chatId: string, agentId?: string): SessionSource => ({
  platform: "telegram",
  chatType: "dm",
  chatId,
  userId: chatId,
  ...(agentId ? { agentId } : {}),
});

/** The statements every client of every pool sends while `fn` runs, and what it returned. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<{ sent: string[]; value: T }> {
  const sent: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, q: unknown, ...rest: unknown[]) {
    sent.push(typeof q === "string" ? q : (q as { text: string }).text);
    return (query as (...a: unknown[]) => unknown).call(this, q, ...rest);
  } as typeof query;
  try {
    return { sent, value: await fn() };
  } finally {
    pg.Client.prototype.query = query;
  }
}

describe("the PostgreSQL store", () => {
  it("starts one session per key even when replicas race for it", async () => {
    const others = await Promise.all(
      [1, 2, 3].map(() => openPostgresStore(db.url, { now: () => clock, pool: 2 })),
    );
    try {
      const source = dm("42");
      const key = buildSessionKey(source);
      const results = await Promise.all([store, ...others].map((s) => s.getOrCreate(key, source)));
      expect(new Set(results.map((r) => r.session.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it("appends atomically, keeps order and counts, and reads the last N oldest first", async () => {
    const source = dm("1");
    const { session } = await store.getOrCreate(buildSessionKey(source), source);
    const ids = await store.append(
      session.id,
      [
        { role: "user", content: "one" },
        { role: "assistant", content: "two", toolCalls: [{ id: "c1", name: "x" }] },
        { role: "tool", content: "three", toolCallId: "c1" },
      ],
      { usage: { inputTokens: 10, outputTokens: 5 } },
    );
    expect(ids).toHaveLength(3);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const history = await store.history(session.id, 2);
    expect(history.map((m) => m.content)).toEqual(["two", "three"]);
    expect(history[0]!.toolCalls).toEqual([{ id: "c1", name: "x" }]);
    expect(history[1]!.toolCallId).toBe("c1");
    expect(await store.get(session.id)).toMatchObject({ messageCount: 3, inputTokens: 10, outputTokens: 5 });
    await expect(store.append("nope", [{ role: "user", content: "lost" }])).rejects.toThrow(
      /no session nope/,
    );
    expect(await store.search("lost")).toEqual([]);
    expect(await store.rewind(session.id, ids[0]!)).toBe(2);
    expect((await store.get(session.id))!.messageCount).toBe(1);
  });

  it("stores a reply that creates its session in one statement, and adds a second one to the row", async () => {
    const source = { platform: "api", chatType: "dm" as const, chatId: "c", agentId: "llm" };
    const create = { sessionKey: "agent:llm:api:c", source, model: "m", now: clock };
    const turn = [
      { role: "user" as const, content: "hi", createdAt: clock + 1 },
      { role: "assistant" as const, content: "hello", createdAt: clock + 2 },
    ];
    const { sent, value: ids } = await statementsOf(() =>
      store.append("api:llm:c1", turn, { create, usage: { inputTokens: 7, outputTokens: 3 } }),
    );
    // No BEGIN … COMMIT around an insert and an update: one statement, one round trip.
    expect(sent).toHaveLength(1);
    expect(ids).toHaveLength(2);
    await store.append("api:llm:c1", [{ role: "user", content: "again", createdAt: clock + 3 }], {
      create,
      usage: { inputTokens: 1, outputTokens: 1 },
    });
    expect(await store.get("api:llm:c1")).toMatchObject({
      agentId: "llm",
      sessionKey: "agent:llm:api:c",
      platform: "api",
      model: "m",
      startedAt: clock,
      updatedAt: clock + 3,
      messageCount: 3,
      inputTokens: 8,
      outputTokens: 4,
    });
    expect((await store.history("api:llm:c1")).map((m) => m.content)).toEqual(["hi", "hello", "again"]);
    // Another agent's id: refused, and nothing is added to it.
    await expect(
      store.append("api:llm:c1", [{ role: "user", content: "stolen" }], {
        create: { ...create, sessionKey: "agent:main:api:c", source: { ...source, agentId: "main" } },
      }),
    ).rejects.toThrow(/belongs to agent "llm", not "main"/);
    expect((await store.get("api:llm:c1"))!.messageCount).toBe(3);
  });

  it("creates or continues a caller-chosen session with nothing to add in one statement", async () => {
    const source = { platform: "api", chatType: "dm" as const, chatId: "e", agentId: "llm" };
    const first = await statementsOf(() =>
      store.ensure("api:llm:e1", "agent:llm:api:e", source, { model: "m" }),
    );
    expect(first.sent).toHaveLength(1);
    expect(first.value.session).toMatchObject({
      id: "api:llm:e1",
      agentId: "llm",
      model: "m",
      messageCount: 0,
    });
    await store.append("api:llm:e1", [{ role: "user", content: "hi" }]);
    // It exists: the insert does nothing and the row is read.
    const again = await statementsOf(() => store.ensure("api:llm:e1", "agent:llm:api:e", source));
    expect(again.sent).toHaveLength(2);
    expect(again.value.session.messageCount).toBe(1);
    await expect(
      store.ensure("api:llm:e1", "agent:main:api:e", { ...source, agentId: "main" }),
    ).rejects.toThrow(/belongs to agent "llm", not "main"/);
  });

  it("stores an inbound message with its session in one transaction, the session read only once", async () => {
    const source = dm("9");
    const key = buildSessionKey(source);
    const claim = { platform: "telegram", account: "default", chatId: "9", messageId: "m1" };
    const first = await statementsOf(() =>
      store.getOrCreate(key, source, { append: [{ role: "user", content: "one" }], claim }),
    );
    // BEGIN, the key's lock, the active session, the insert, the message, the claim, COMMIT: no read after.
    expect(first.sent).toHaveLength(7);
    expect(first.value.session).toMatchObject({ messageCount: 1, updatedAt: clock });
    clock += 1000;
    const second = await statementsOf(() =>
      store.getOrCreate(key, source, {
        append: [{ role: "user", content: "two" }],
        claim: { ...claim, messageId: "m2" },
      }),
    );
    expect(second.sent).toHaveLength(7);
    expect(second.value.session).toEqual(await store.get(first.value.session.id));
    expect(second.value.session).toMatchObject({ messageCount: 2, updatedAt: clock });
  });

  it("finds words with folded case and accents, prefixes, and CJK text by substring", async () => {
    const source = dm("1");
    const { session } = await store.getOrCreate(buildSessionKey(source), source);
    await store.append(session.id, [
      { role: "user", content: "deploy the billing service", createdAt: clock + 1 },
      { role: "user", content: "Déploiement: café au lait", createdAt: clock + 2 },
      { role: "user", content: "我喜欢吃苹果，也喜欢香蕉", createdAt: clock + 3 },
      { role: "user", content: "東京の天気はどうですか", createdAt: clock + 4 },
      { role: "user", content: "오늘 날씨가 좋네요", createdAt: clock + 5 },
    ]);
    expect((await store.search("deploy")).map((h) => h.snippet)).toEqual([
      ">>>deploy<<< the billing service",
    ]);
    expect(await store.search("bill*")).toHaveLength(1);
    expect(await store.search("CAFE")).toHaveLength(1);
    expect((await store.search("苹果")).map((h) => h.snippet)).toEqual(["我喜欢吃>>>苹果<<<，也喜欢香蕉"]);
    expect(await store.search("天気")).toHaveLength(1);
    expect(await store.search("날씨가")).toHaveLength(1);
    expect(await store.search("苹果 香蕉")).toHaveLength(1);
    expect(await store.search("苹果 deploy")).toHaveLength(0);
    expect(await store.search("西瓜")).toHaveLength(0);
    for (const q of [
      '"',
      "NOT deploy",
      "(((",
      "'; DROP TABLE messages; --",
      "\u0000",
      "🚀",
      "100%",
      "a_b\\",
    ]) {
      await expect(store.search(q)).resolves.toBeInstanceOf(Array);
    }
  });

  it("reports whether it can write", async () => {
    expect(await store.checkWritable()).toEqual({ ok: true });
    expect((await store.probe()).writable).toBe(true);
    await store.close();
    expect(await store.checkWritable()).toMatchObject({ ok: false });
  });
});

describe("opening", () => {
  it("says what to fix when nothing answers at the URL", async () => {
    await expect(openPostgresStore("postgres://nobody@127.0.0.1:1/none")).rejects.toThrow(
      /cannot open the PostgreSQL store postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*check store\.url/,
    );
  });
});
