import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { USAGE_FOLD_KEY } from "../src/sessions/migrations.ts";
import { windowIds } from "../src/sessions/operations-store.ts";
import { openSessionStore, type SqliteSessionStore } from "../src/sessions/store.ts";

// The SQLite ledger stores a call's row in the reply's commit and folds the rows into the per-scope day
// totals later, in batches (sqlite/operations.ts): totals must be exact before, during and after a fold,
// whichever process folds, and after a process is killed before its fold.

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-usage-fold-"));
  file = join(dir, "state.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const call = (tokens: number, costUsd: number) => ({
  at: Date.now(),
  agentId: "main",
  userId: "u1",
  platform: "telegram",
  inputTokens: tokens,
  outputTokens: 0,
  costUsd,
});
const SCOPES = ["agent:main", "user:telegram:u1"];

/** What is folded: the stored day totals, and the watermark with the last row it covers. */
function folded(store: SqliteSessionStore) {
  const day = windowIds(Date.now()).daily;
  const totals = store.db
    .prepare("SELECT scope, tokens FROM usage_totals WHERE window = ? ORDER BY scope")
    .all(day) as Array<{ scope: string; tokens: number }>;
  const mark = Number(
    (store.db.prepare("SELECT value FROM kv WHERE key = ?").pluck().get(USAGE_FOLD_KEY) as string) ?? 0,
  );
  const last = store.db.prepare("SELECT COALESCE(MAX(id), 0) FROM usage_events").pluck().get() as number;
  return { totals: Object.fromEntries(totals.map((t) => [t.scope, t.tokens])), behind: last - mark };
}

describe("usage totals folded from the rows", () => {
  it("counts rows not folded yet, folds them once whichever of two stores on the file folds", async () => {
    const day = windowIds(Date.now()).daily;
    const month = windowIds(Date.now()).monthly;
    const a = openSessionStore(file);
    const b = openSessionStore(file);
    try {
      for (let i = 0; i < 5; i++) await a.usage.record(call(10, 0.5), SCOPES);
      // Committed but not folded: the stored totals do not have them, every read does.
      expect(folded(a)).toEqual({ totals: {}, behind: 5 });
      expect(await b.usage.total("agent:main", day)).toEqual({ tokens: 50, costUsd: 2.5 });
      expect(await b.usage.total("user:telegram:u1", month)).toEqual({ tokens: 50, costUsd: 2.5 });
      expect(await b.usage.total("user:telegram:u2", day)).toEqual({ tokens: 0, costUsd: 0 });
      // `b` closing folds `a`'s rows; `a` closing afterwards finds nothing left to fold.
      await b.close();
      expect(folded(a)).toEqual({ totals: { "agent:main": 50, "user:telegram:u1": 50 }, behind: 0 });
      await a.usage.record(call(1, 0), ["agent:main"]);
      await a.close();
      const c = openSessionStore(file);
      try {
        expect(folded(c)).toEqual({ totals: { "agent:main": 51, "user:telegram:u1": 50 }, behind: 0 });
        expect(await c.usage.total("agent:main", day)).toEqual({ tokens: 51, costUsd: 2.5 });
        expect(await c.usage.total("agent:main", month)).toEqual({ tokens: 51, costUsd: 2.5 });
      } finally {
        await c.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("folds within a second while the store is open, and at once past a batch of calls", async () => {
    const store = openSessionStore(file);
    try {
      await store.usage.record(call(10, 0), SCOPES);
      expect(folded(store).behind).toBe(1);
      await expect.poll(() => folded(store).behind, { timeout: 3000, interval: 50 }).toBe(0);
      expect(folded(store).totals).toEqual({ "agent:main": 10, "user:telegram:u1": 10 });
      // 2,048 calls in flight share commits; the commit that crosses the count folds them with it.
      await Promise.all(Array.from({ length: 2100 }, () => store.usage.record(call(1, 0), SCOPES)));
      expect(folded(store).behind).toBeLessThan(2048);
      expect(await store.usage.total("agent:main", windowIds(Date.now()).daily)).toEqual({
        tokens: 2110,
        costUsd: 0,
      });
    } finally {
      await store.close();
    }
  });

  it("a process killed (-9) after its calls committed and before it folded loses none of them", async () => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "helpers/usage-writer.ts"), file, "40"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the writer did not record in time")), 15_000);
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("recorded")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once("exit", (code) => reject(new Error(`the writer exited early (${code})`)));
      });
    } finally {
      child.kill("SIGKILL");
    }
    await new Promise((r) => child.once("exit", r));
    const store = openSessionStore(file);
    try {
      // Opening folds what the killed process left; nothing is counted twice by later folds.
      expect(folded(store)).toEqual({ totals: { "agent:main": 400, "user:telegram:u1": 400 }, behind: 0 });
      await store.usage.record(call(5, 0), SCOPES);
      const t = await store.usage.total("user:telegram:u1", windowIds(Date.now()).daily);
      expect(t.tokens).toBe(405);
      expect(t.costUsd).toBeCloseTo(0.4, 10);
    } finally {
      await store.close();
    }
    const again = openSessionStore(file);
    try {
      expect(folded(again)).toEqual({ totals: { "agent:main": 405, "user:telegram:u1": 405 }, behind: 0 });
    } finally {
      await again.close();
    }
  });
});
