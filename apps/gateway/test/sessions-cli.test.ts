import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSessionStore } from "@switchboard/core";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-sessions-cli-"));
writeFileSync(join(home, "config.yaml"), "agents:\n  main: {}\n  ops: {}\n");
const store = openSessionStore(join(home, "state.db"));
const a = (
  await store.getOrCreate("agent:main:telegram:dm:1", {
    platform: "telegram",
    chatType: "dm",
    chatId: "1",
    agentId: "main",
  })
).session;
const b = (
  await store.getOrCreate("agent:ops:slack:group:C1:U1", {
    platform: "slack",
    chatType: "group",
    chatId: "C1",
    agentId: "ops",
  })
).session;
await store.append(a.id, [
  { role: "user", content: "where is the invoice for march" },
  { role: "assistant", content: "[main] here it is" },
]);
await store.append(b.id, [{ role: "user", content: "deploy the invoice service" }]);
await store.close();
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("switchboard sessions", () => {
  it("lists sessions, filtered by agent", () => {
    const all = cli(["sessions", "list", "--home", home]);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toContain(a.id);
    expect(all.stdout).toContain(b.id);
    const ops = JSON.parse(
      cli(["sessions", "list", "--agent", "ops", "--home", home, "--json"]).stdout,
    ) as Array<{ id: string }>;
    expect(ops.map((s) => s.id)).toEqual([b.id]);
  });

  it("shows a transcript", () => {
    const r = cli(["sessions", "show", a.id, "--home", home]);
    expect(r.stdout).toMatch(/user\s+where is the invoice for march/);
    expect(r.stdout).toMatch(/assistant\s+\[main\] here it is/);
    expect(cli(["sessions", "show", "nope", "--home", home]).status).not.toBe(0);
  });

  it("searches message text, scoped to an agent on request", () => {
    const hits = JSON.parse(
      cli(["sessions", "search", "invoice", "--home", home, "--json"]).stdout,
    ) as Array<{ agentId: string }>;
    expect(hits.map((h) => h.agentId).sort()).toEqual(["main", "ops"]);
    const opsHits = JSON.parse(
      cli(["sessions", "search", "invoice", "--agent", "ops", "--home", home, "--json"]).stdout,
    ) as Array<{
      sessionId: string;
    }>;
    expect(opsHits.map((h) => h.sessionId)).toEqual([b.id]);
  });
});

describe("switchboard sessions end", () => {
  it("ends a session through core's endSession and writes the audit log; a second end fails", async () => {
    const r = cli(["sessions", "end", b.id, "--home", home]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ended session ${b.id}`);
    const s = openSessionStore(join(home, "state.db"));
    try {
      expect((await s.get(b.id))?.endReason).toBe("ended");
      const [entry] = await s.audit.list({ action: "session.end" });
      expect(entry).toMatchObject({ target: b.id });
      expect(entry?.actor).toMatch(/^cli/);
    } finally {
      await s.close();
    }
    const again = cli(["sessions", "end", b.id, "--home", home]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("already ended");
  });
});
