import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSessionStore } from "../src/index.ts";
import { SCHEMA_VERSION } from "../src/sessions/migrations.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-resp-"));
  dirs.push(dir);
  return join(dir, "state.db");
};

const record = (id: string, createdAt: number, text = "x") => ({
  id,
  owner: "k1",
  agentId: "main",
  publicSessionId: "s",
  messages: [{ role: "user", content: text }],
  body: { id, object: "response" },
  createdAt,
});

describe("the responses table", () => {
  it("adds the table to a version-1 file in place, keeping its sessions", async () => {
    const file = tempDb();
    const v1 = openSessionStore(file);
    await v1.ensure("s1", "agent:main:api_server:session:s1", {
      platform: "api_server",
      chatType: "dm",
      agentId: "main",
    });
    v1.db.exec("DROP TABLE responses");
    v1.db.pragma("user_version = 1");
    await v1.close();
    const store = openSessionStore(file);
    expect(store.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect((await store.get("s1"))?.agentId).toBe("main");
    expect(await store.responses.put(record("r1", Date.now()), { maxAgeMs: 60_000, maxBytes: 10_000 })).toBe(
      true,
    );
    await store.close();
    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.prepare("SELECT id FROM responses").pluck().all()).toEqual(["r1"]);
    raw.close();
  });

  it("drops expired rows and, past the byte budget, the oldest first", async () => {
    let now = 1_000_000;
    const store = openSessionStore(tempDb(), { now: () => now });
    const limits = { maxAgeMs: 10_000, maxBytes: 1_000 };
    for (let i = 0; i < 5; i++) await store.responses.put(record(`r${i}`, now + i, "y".repeat(200)), limits);
    expect(await store.responses.bytes()).toBeLessThanOrEqual(1_000);
    expect(await store.responses.get("r0", limits.maxAgeMs)).toBeUndefined();
    expect((await store.responses.get("r4", limits.maxAgeMs))?.messages).toEqual([
      { role: "user", content: "y".repeat(200) },
    ]);
    now += 20_000;
    expect(await store.responses.get("r4", limits.maxAgeMs)).toBeUndefined();
    await store.responses.put(record("fresh", now), limits);
    expect(store.db.prepare("SELECT id FROM responses").pluck().all()).toEqual(["fresh"]);
    expect(await store.responses.put(record("huge", now, "z".repeat(2_000)), limits)).toBe(false);
    expect(await store.responses.delete("fresh")).toBe(true);
    await store.close();
  });
});
