import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  openSessionStore,
  type SessionRecord,
  type SessionStore,
  type SqliteSessionStore,
} from "@switchboard/core";
import { openPostgresStore } from "@switchboard/store-postgres";
import { createTestDatabase, type TestDatabase } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-store-migrate-"));
const databases: TestDatabase[] = [];
const freshDatabase = async () => {
  const d = await createTestDatabase();
  databases.push(d);
  return d;
};
const MESSAGES = 3000;
let sqliteIds: string[] = [];

/** A real state.db: three agents' sessions, tool calls, CJK, a NUL, responses, usage, audit, buckets, a lease. */
async function seed(store: SessionStore) {
  const t0 = Date.UTC(2026, 10, 1);
  const sessions: SessionRecord[] = [];
  for (const [i, agent] of ["main", "ops", "support"].entries()) {
    const { session } = await store.getOrCreate(
      `agent:${agent}:telegram:dm:${i}`,
      {
        platform: "telegram",
        chatType: "dm",
        chatId: String(i),
        agentId: agent,
      },
      { now: t0 + i },
    );
    sessions.push(session);
  }
  for (let i = 0; i < MESSAGES; i++) {
    const s = sessions[i % 3]!;
    await store.append(s.id, [
      i % 7 === 0
        ? {
            role: "assistant",
            content: `call ${i}`,
            toolCalls: [{ id: `c${i}`, name: "memory_add" }],
            createdAt: t0 + i,
          }
        : {
            role: "user",
            content: i % 11 === 0 ? `我喜欢苹果 ${i}` : `message ${i} about deploys`,
            createdAt: t0 + i,
          },
    ]);
  }
  await store.append(
    sessions[0]!.id,
    [{ role: "user", content: "nul\u0000inside", createdAt: t0 + MESSAGES }],
    {
      usage: { inputTokens: 12, outputTokens: 34 },
    },
  );
  await store.setTitle(sessions[1]!.id, "Ops chat");
  await store.setParent(sessions[2]!.id, sessions[0]!.id);
  await store.end(sessions[2]!.id, "reset", t0 + MESSAGES + 1);
  await store.responses.put(
    {
      id: "resp_1",
      owner: "key:abc",
      agentId: "main",
      publicSessionId: "api-1",
      messages: [{ role: "user", content: "hi" }],
      body: { id: "resp_1", object: "response" },
      createdAt: Date.now(),
    },
    { maxAgeMs: 86_400_000, maxBytes: 1_000_000 },
  );
  await store.usage.record(
    { at: t0, agentId: "main", userId: "u1", model: "gpt", inputTokens: 10, outputTokens: 5, costUsd: 0.25 },
    ["agent:main", "user:telegram:u1"],
  );
  await store.audit.append({
    actor: "cli",
    action: "agent.add",
    target: "ops",
    detail: { clone: "main" },
    at: t0,
  });
  await store.rates.take("user:telegram:u1", 5, 0.001, t0);
  await store.leases.acquire("main:job1", "old", 60_000, t0);
  // A WITHOUT ROWID table with a four-column key: copied in key order, resumed by that key.
  for (let i = 0; i < 120; i++)
    await store.inbound.claim(
      { platform: i % 2 ? "slack" : "telegram", account: "default", chatId: `c${i % 7}`, messageId: `m${i}` },
      t0,
    );
  return sessions.map((s) => s.id);
}

beforeAll(async () => {
  writeFileSync(join(home, "config.yaml"), "agents:\n  main: {}\n  ops: {}\n  support: {}\n");
  const store = openSessionStore(join(home, "state.db"));
  sqliteIds = await seed(store);
  await store.close();
  // A gateway killed after a call committed and before it folded the call into `usage_totals`: the copy
  // still carries its spend.
  const killed = openSessionStore(join(home, "state.db")) as SqliteSessionStore;
  await killed.usage.record(
    {
      at: Date.parse("2026-11-20T12:00:00Z"),
      agentId: "main",
      inputTokens: 4,
      outputTokens: 1,
      costUsd: 0.5,
    },
    ["agent:main"],
  );
  killed.db.close();
});
afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  rmSync(home, { recursive: true, force: true });
});

const migrate = (url: string, ...extra: string[]) =>
  cli(["store", "migrate", "--from", "sqlite", "--to", "postgres", "--url", url, "--home", home, ...extra]);

const count = async (url: string, table: string) => {
  const store = await openPostgresStore(url, { pool: 1 });
  try {
    return (await store.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0]!.n;
  } finally {
    await store.close();
  }
};

describe("switchboard store migrate --from sqlite --to postgres", { timeout: 90_000 }, () => {
  it("copies every table, prints counts and checksums of both sides, and the copy reads like the original", async () => {
    const db = await freshDatabase();
    const r = migrate(db.url);
    expect(r.status, r.stderr).toBe(0);
    for (const table of [
      "sessions",
      "messages",
      "responses",
      "usage_events",
      "usage_totals",
      "audit_log",
      "rate_buckets",
      "cron_leases",
      "inbound_seen",
    ]) {
      expect(r.stdout).toMatch(
        new RegExp(`^${table}\\s+\\d+\\s+\\d+\\s+[0-9a-f]{16}\\s+[0-9a-f]{16}\\s+ok$`, "m"),
      );
    }
    expect(r.stdout).toMatch(new RegExp(`^messages\\s+${MESSAGES + 1}\\s+${MESSAGES + 1}\\s`, "m"));
    expect(r.stdout).toMatch(/hold the same data/);

    const sqlite = openSessionStore(join(home, "state.db"));
    const store = await openPostgresStore(db.url, { pool: 2 });
    try {
      expect(await store.list({ includeEnded: true, limit: 10 })).toEqual(
        await sqlite.list({ includeEnded: true, limit: 10 }),
      );
      for (const id of sqliteIds) {
        expect(await store.history(id, 100_000)).toEqual(
          (await sqlite.history(id, 100_000)).map((m) => ({
            ...m,
            content: m.content.replaceAll("\u0000", ""),
          })),
        );
      }
      expect(await store.parentOf(sqliteIds[2]!)).toBe(sqliteIds[0]);
      // The copy's search finds CJK text by substring (SQLite's unicode61 tokenizer cannot).
      const cjk = Array.from({ length: MESSAGES }, (_, i) => i).filter(
        (i) => i % 7 !== 0 && i % 11 === 0,
      ).length;
      expect(await store.search("苹果", { limit: 1000 })).toHaveLength(cjk);
      expect((await store.responses.get("resp_1", 86_400_000))?.body).toEqual({
        id: "resp_1",
        object: "response",
      });
      expect(await store.usage.total("agent:main", "m:2026-11")).toEqual({ tokens: 20, costUsd: 0.75 });
      expect((await store.audit.list()).map((e) => e.action)).toEqual(["agent.add"]);
      // New rows continue after the copied ids.
      const [next] = await store.append(sqliteIds[0]!, [{ role: "user", content: "after the move" }]);
      expect(next).toBeGreaterThan(MESSAGES + 1);
    } finally {
      await sqlite.close();
      await store.close();
    }
  });

  it("resumes after being killed mid-copy, without duplicates, and a rerun of a finished copy writes nothing", async () => {
    const db = await freshDatabase();
    const child = spawn(
      process.execPath,
      [
        "--conditions=@switchboard/source",
        "--no-warnings",
        CLI,
        "store",
        "migrate",
        "--from",
        "sqlite",
        "--to",
        "postgres",
        "--url",
        db.url,
        "--home",
        home,
        "--batch",
        "50",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))),
    );
    await new Promise<void>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => reject(new Error(`no progress seen: ${err}`)), 20_000);
      child.stderr!.on("data", (c: Buffer) => {
        err += c.toString();
        if (/copied messages: 500\//.test(err)) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    expect(await exited).toBe(-1);
    const partial = await count(db.url, "messages");
    expect(partial).toBeGreaterThanOrEqual(500);
    expect(partial).toBeLessThan(MESSAGES + 1);

    const rerun = migrate(db.url, "--batch", "500");
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stderr).not.toMatch(/copied sessions:/); // finished before the kill: not read again
    expect(await count(db.url, "messages")).toBe(MESSAGES + 1);
    expect(rerun.stdout).not.toMatch(/MISMATCH/);

    const again = migrate(db.url, "--json");
    expect(again.status, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { copied: number; ok: boolean };
    expect(report).toMatchObject({ copied: 0, ok: true });
  });

  it("exits non-zero, naming the table, when the two sides differ", async () => {
    const db = await freshDatabase();
    expect(migrate(db.url).status).toBe(0);
    // Someone kept writing to state.db after the copy: the new message is copied, the session row's counters are not.
    const sqlite = openSessionStore(join(home, "state.db"));
    await sqlite.append(sqliteIds[1]!, [{ role: "user", content: "written after the copy" }]);
    await sqlite.close();
    const r = migrate(db.url);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^sessions\s+3\s+3\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+MISMATCH$/m);
    expect(r.stdout).toMatch(/^messages\s+\d+\s+\d+\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+ok$/m);
    const undo = openSessionStore(join(home, "state.db"));
    await undo.rewind(sqliteIds[1]!, (await undo.history(sqliteIds[1]!, 2)).at(-2)?.id ?? 0);
    await undo.close();
  });

  it("refuses a database that already holds sessions, and a home whose gateway is running", async () => {
    const db = await freshDatabase();
    const other = await openPostgresStore(db.url, { pool: 1 });
    await other.getOrCreate("agent:main:api_server:dm:x", {
      platform: "api_server",
      chatType: "dm",
      chatId: "x",
    });
    await other.close();
    const r = migrate(db.url);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/already holds sessions: copy into an empty database/);

    writeFileSync(
      join(home, "gateway.lock"),
      JSON.stringify({ pid: process.pid, host: (await import("node:os")).hostname(), startedAt: "now" }),
    );
    try {
      const locked = migrate((await freshDatabase()).url);
      expect(locked.status).not.toBe(0);
      expect(locked.stderr).toMatch(/another gateway .* is already running/);
    } finally {
      rmSync(join(home, "gateway.lock"));
    }
  });
});
