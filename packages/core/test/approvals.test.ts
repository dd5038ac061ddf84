import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ApprovalBroker, approvalPrompt } from "../src/approvals.ts";
import { openSessionStore } from "../src/sessions/store.ts";

const call = {
  agentId: "ops",
  sessionId: "s1",
  toolName: "write_file",
  input: { path: "x" },
  chat: "test/default/c1",
};

describe("the approval broker", () => {
  it("settles a pending call once: the first answer wins, later ones find nothing", async () => {
    const broker = new ApprovalBroker();
    const { approval, decision } = broker.request(call, { timeoutMs: 60_000 });
    expect(approval.id).toMatch(/^[0-9a-f]{6}$/);
    expect(broker.pending({ chat: "test/default/c1" }).map((a) => a.id)).toEqual([approval.id]);
    expect(broker.pending({ chat: "test/default/other" })).toEqual([]);
    expect(broker.resolve(approval.id, { approved: true, by: "test:u1" })).toBe(true);
    expect(broker.resolve(approval.id, { approved: false, by: "test:u2" })).toBe(false);
    await expect(decision).resolves.toEqual({ approved: true, by: "test:u1" });
    expect(broker.pending()).toEqual([]);
  });

  it("denies on timeout and when the turn is aborted", async () => {
    const broker = new ApprovalBroker();
    const timed = broker.request(call, { timeoutMs: 20 });
    await expect(timed.decision).resolves.toMatchObject({ approved: false, by: "timeout" });
    const controller = new AbortController();
    const aborted = broker.request(call, { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    await expect(aborted.decision).resolves.toMatchObject({ approved: false, by: "aborted" });
    expect(broker.pending()).toEqual([]);
  });

  it("denies everything pending at shutdown", async () => {
    const broker = new ApprovalBroker();
    const a = broker.request(call, { timeoutMs: 60_000 });
    const b = broker.request({ ...call, toolName: "cron_create" }, { timeoutMs: 60_000 });
    broker.denyAll("stopping");
    await expect(Promise.all([a.decision, b.decision])).resolves.toEqual([
      { approved: false, by: "shutdown", reason: "stopping" },
      { approved: false, by: "shutdown", reason: "stopping" },
    ]);
  });

  it("words the prompt with the tool, short arguments and how to answer", () => {
    const broker = new ApprovalBroker({ now: () => 0 });
    const { approval } = broker.request(
      { ...call, input: { content: "y".repeat(1000) } },
      { timeoutMs: 300_000 },
    );
    const text = approvalPrompt(approval, "boss");
    expect(text).toContain('Agent "ops" (asked by "boss") wants to run write_file {"content":"yyy');
    expect(text).toContain("…");
    expect(text.length).toBeLessThan(500);
    expect(text).toContain(
      `Reply /approve ${approval.id} or /deny ${approval.id} (denied automatically in 300 s).`,
    );
    broker.denyAll("done");
  });
});

describe("session lineage in the store", () => {
  it("links a delegated session to its parent and lists a session's children", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-lineage-"));
    const store = openSessionStore(join(dir, "state.db"));
    try {
      const source = { platform: "delegate", chatType: "dm" as const, chatId: "p" };
      const { session: parent } = await store.ensure("p1", "agent:boss:test:dm:1", {
        ...source,
        agentId: "boss",
      });
      const { session: child } = await store.ensure("c1", "agent:worker:delegate:c1", {
        ...source,
        agentId: "worker",
      });
      await store.setParent(child.id, parent.id);
      expect(await store.parentOf(child.id)).toBe(parent.id);
      expect(await store.parentOf(parent.id)).toBeUndefined();
      expect((await store.children(parent.id)).map((s) => [s.id, s.agentId])).toEqual([["c1", "worker"]]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
