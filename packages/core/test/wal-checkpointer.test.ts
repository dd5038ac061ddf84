import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { buildSessionKey } from "../src/sessions/key.ts";
import type { SessionSource } from "../src/sessions/source.ts";
import { openSessionStore, type SqliteSessionStore } from "../src/sessions/sqlite/store.ts";

const dirs: string[] = [];
const stores: SqliteSessionStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const source: SessionSource = { platform: "telegram", chatType: "dm", chatId: "1", userId: "1" };

/** Messages the database file alone holds (its WAL left behind): what checkpoints have copied into it. */
function inMainFile(dir: string): number {
  copyFileSync(join(dir, "state.db"), join(dir, "copy.db"));
  const db = new BetterSqlite3(join(dir, "copy.db"), { readonly: true });
  try {
    return db.prepare("SELECT COUNT(*) FROM messages").pluck().get() as number;
  } catch {
    return 0; // not even the schema has been copied
  } finally {
    db.close();
  }
}

async function busyStore(
  backgroundCheckpoints: boolean,
): Promise<{ dir: string; store: SqliteSessionStore }> {
  const dir = mkdtempSync(join(tmpdir(), "sb-ckpt-"));
  dirs.push(dir);
  const store = openSessionStore(join(dir, "state.db"), {
    backgroundCheckpoints,
    checkpoints: { startAfterCommits: 5, everyCommits: 4, intervalMs: 50 },
  });
  stores.push(store);
  const { session } = await store.getOrCreate(buildSessionKey(source), source);
  for (let i = 0; i < 40; i++) await store.append(session.id, [{ role: "user", content: `message ${i}` }]);
  return { dir, store };
}

describe("WAL checkpoints in a worker thread", () => {
  it("copies a busy store's commits into the database file without waiting for SQLite's 1,000-page checkpoint", async () => {
    const { dir } = await busyStore(true);
    const deadline = Date.now() + 10_000;
    while (inMainFile(dir) < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(inMainFile(dir)).toBe(40);
  });

  it("leaves them in the WAL when turned off (SQLite's own checkpoint has not come due)", async () => {
    const { dir, store } = await busyStore(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(inMainFile(dir)).toBe(0);
    // Nothing is lost either way: the store reads through its WAL.
    expect((await store.search("message")).length).toBeGreaterThan(0);
  });

  it("closes with the store, and the file reopens with every message", async () => {
    const { dir, store } = await busyStore(true);
    stores.splice(stores.indexOf(store), 1);
    await store.close();
    const again = openSessionStore(join(dir, "state.db"));
    stores.push(again);
    const [s] = await again.list({});
    expect((await again.history(s!.id, 100)).length).toBe(40);
  });
});
