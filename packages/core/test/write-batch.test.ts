import Database from "better-sqlite3";
import { afterEach, beforeEach, expect, it } from "vitest";
import { WriteBatcher } from "../src/sessions/sqlite/write-batch.ts";

// The group commit's failure rules: a failing write rolls back only itself, whether it ran in a savepoint
// (several fallible writes) or alone first in the transaction (one fallible write beside unguarded ones).

let db: Database.Database;
let writes: WriteBatcher;
beforeEach(() => {
  db = new Database(":memory:");
  db.exec("CREATE TABLE t (v TEXT NOT NULL CHECK (v != 'bad'))");
  writes = new WriteBatcher(db);
});
afterEach(() => db.close());

const rows = () => (db.prepare("SELECT v FROM t ORDER BY rowid").pluck().all() as string[]).sort();
const insert =
  (...vs: string[]) =>
  () => {
    for (const v of vs) db.prepare("INSERT INTO t (v) VALUES (?)").run(v);
    return vs.length;
  };

it("one fallible write failing beside unguarded ones: it alone is rolled back, the others commit", async () => {
  const results = await Promise.allSettled([
    writes.run(insert("a1", "bad")),
    writes.run(insert("u1"), { guarded: false }),
    writes.run(insert("u2"), { guarded: false }),
  ]);
  expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
  expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/CHECK constraint/);
  expect(rows()).toEqual(["u1", "u2"]);
});

it("one fallible write succeeding beside an unguarded one: both commit in one transaction", async () => {
  let commits = 0;
  writes = new WriteBatcher(db, () => commits++);
  await expect(
    Promise.all([writes.run(insert("a1", "a2")), writes.run(insert("u1"), { guarded: false })]),
  ).resolves.toEqual([2, 1]);
  expect(rows()).toEqual(["a1", "a2", "u1"]);
  expect(commits).toBe(1);
});

it("several fallible writes: each in its savepoint, a failing one rolls back only itself", async () => {
  const results = await Promise.allSettled([
    writes.run(insert("a1")),
    writes.run(insert("b1", "bad")),
    writes.run(insert("u1"), { guarded: false }),
    writes.run(insert("c1")),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
  expect(rows()).toEqual(["a1", "c1", "u1"]);
});

it("an unguarded write failing fails its whole commit, and nothing of it is kept", async () => {
  const results = await Promise.allSettled([
    writes.run(insert("a1")),
    writes.run(insert("bad"), { guarded: false }),
  ]);
  expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  expect(rows()).toEqual([]);
  // The next commit is unaffected.
  await writes.run(insert("a2"));
  expect(rows()).toEqual(["a2"]);
});

it("a lone write failing keeps nothing", async () => {
  await expect(writes.run(insert("x", "bad"))).rejects.toThrow(/CHECK constraint/);
  await expect(writes.run(insert("y", "bad"), { guarded: false })).rejects.toThrow(/CHECK constraint/);
  expect(rows()).toEqual([]);
});

it("afterCommit runs once a write's commit is durable, and never for a write that failed", async () => {
  const seen: string[] = [];
  const write = (v: string) => () => {
    db.prepare("INSERT INTO t (v) VALUES (?)").run(v);
    writes.afterCommit(() => seen.push(`${v}:${rows().includes(v)}`));
  };
  const results = await Promise.allSettled([
    writes.run(write("a")),
    writes.run(write("bad")),
    writes.run(write("b"), { guarded: false }),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(seen).toEqual(["a:true", "b:true"]);
  // A commit that fails as a whole runs none.
  seen.length = 0;
  await Promise.allSettled([writes.run(write("c")), writes.run(write("bad"), { guarded: false })]);
  expect(seen).toEqual([]);
});
