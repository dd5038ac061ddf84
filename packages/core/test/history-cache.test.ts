import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SessionSource } from "../src/sessions/source.ts";
import { openSessionStore, type SqliteSessionStore } from "../src/sessions/store.ts";

// The SQLite store keeps each recent session's last history read and next reads only what was added since
// (sqlite/history-cache.ts). Whatever writes the file, a read must equal a fresh read.

let dir: string;
let file: string;
const open: SqliteSessionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-history-cache-"));
  file = join(dir, "state.db");
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});
const store = () => {
  const s = openSessionStore(file) as SqliteSessionStore;
  open.push(s);
  return s;
};
const source: SessionSource = { platform: "telegram", chatType: "dm", chatId: "1", userId: "1" };
const contents = async (s: SqliteSessionStore, id: string, limit?: number) =>
  (await s.history(id, limit)).map((m) => m.content);
/** A session of `s` holding a question and its answer; `q` is the question's id. */
async function answered(s: SqliteSessionStore, answer: string) {
  const { session } = await s.getOrCreate("k", source);
  const [q] = await s.append(session.id, [
    { role: "user", content: "question" },
    { role: "assistant", content: answer },
  ]);
  return { session, q: q! };
}
/** What the file holds, read by a connection of its own (no cache). */
const fresh = (id: string, limit = 50) => {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db
        .prepare("SELECT content FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?")
        .pluck()
        .all(id, limit) as string[]
    ).reverse();
  } finally {
    db.close();
  }
};

describe("history reads kept per session", () => {
  it("a write that fails and rolls back leaves nothing in the kept history", async () => {
    const a = store();
    const claim = { platform: "telegram", account: "default", chatId: "1", messageId: "m1" };
    await a.getOrCreate("k", source, { append: [{ role: "user", content: "once" }], claim });
    const { session } = await a.getOrCreate("k", source);
    expect(await contents(a, session.id)).toEqual(["once"]);
    // The same platform message again: appended, then the claim finds it, and the write rolls back.
    await expect(
      a.getOrCreate("k", source, { append: [{ role: "user", content: "twice" }], claim }),
    ).rejects.toThrow();
    // Beside it in one commit, a write that succeeds.
    const [ok, dup] = await Promise.allSettled([
      a.append(session.id, [{ role: "assistant", content: "reply" }]),
      a.getOrCreate("k", source, { append: [{ role: "user", content: "thrice" }], claim }),
    ]);
    expect([ok.status, dup.status]).toEqual(["fulfilled", "rejected"]);
    expect(await contents(a, session.id)).toEqual(["once", "reply"]);
    expect(await contents(a, session.id)).toEqual(fresh(session.id));
  });

  it("answers a second read from what the first read, plus the rows added since", async () => {
    const a = store();
    const { session } = await a.getOrCreate("k", source);
    await a.append(session.id, [{ role: "user", content: "one" }]);
    const first = await a.history(session.id);
    await a.append(session.id, [{ role: "assistant", content: "two" }]);
    const second = await a.history(session.id);
    expect(second.map((m) => m.content)).toEqual(["one", "two"]);
    // The message read before is the same object, not read again (shared: `StoredMessage` is read-only).
    expect(second[0]).toBe(first[0]);
    // A caller's array is its own.
    second.push(second[0]!);
    expect(await contents(a, session.id)).toEqual(["one", "two"]);
  });

  it("keeps the last `limit` as messages come, and serves smaller and larger limits right", async () => {
    const a = store();
    const { session } = await a.getOrCreate("k", source);
    for (let i = 0; i < 8; i++) await a.append(session.id, [{ role: "user", content: `m${i}` }]);
    expect(await contents(a, session.id, 5)).toEqual(["m3", "m4", "m5", "m6", "m7"]);
    for (let i = 8; i < 11; i++) {
      await a.append(session.id, [{ role: "user", content: `m${i}` }]);
      expect(await contents(a, session.id, 5)).toEqual(fresh(session.id, 5));
    }
    expect(await contents(a, session.id, 2)).toEqual(["m9", "m10"]);
    expect(await contents(a, session.id, 50)).toEqual(fresh(session.id, 50));
    expect(await contents(a, session.id, 0)).toEqual([]);
  });

  it("a rewind by this store, then new messages, reads as the file", async () => {
    const a = store();
    const { session, q } = await answered(a, "first answer");
    expect(await contents(a, session.id)).toEqual(["question", "first answer"]);
    await a.rewind(session.id, q);
    await a.append(session.id, [{ role: "assistant", content: "second answer" }]);
    expect(await contents(a, session.id)).toEqual(["question", "second answer"]);
  });

  it("sees another connection's appends and rewinds on the same file", async () => {
    const a = store();
    const b = store();
    const { session, q } = await answered(a, "answer");
    expect(await contents(a, session.id)).toEqual(["question", "answer"]);
    await b.append(session.id, [{ role: "user", content: "from b" }]);
    expect(await contents(a, session.id)).toEqual(["question", "answer", "from b"]);
    // A rewind elsewhere, then appends: the rows after the last one read do not tell of the rewind.
    await b.rewind(session.id, q);
    await b.append(session.id, [{ role: "assistant", content: "b's answer" }]);
    await b.append(session.id, [{ role: "user", content: "b again" }]);
    expect(await contents(a, session.id)).toEqual(fresh(session.id));
    expect(await contents(a, session.id)).toEqual(["question", "b's answer", "b again"]);
    await b.rewind(session.id, 0);
    expect(await contents(a, session.id)).toEqual([]);
  });
});
