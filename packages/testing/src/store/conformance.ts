import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  DuplicateInboundError,
  type SessionSource,
  type SessionStore,
  USAGE_TOTAL_TTL_MS,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import type { StoreBackend, StoreBackendRef, StoreChildJob } from "./backend.ts";
import { idempotencyCases } from "./idempotency-conformance.ts";
import { outboxCases } from "./outbox-conformance.ts";
import { runTableCases } from "./runs-conformance.ts";

const MINUTE = 60_000;
const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

const dm = (chatId: string, agentId = "main"): SessionSource => ({
  platform: "telegram",
  chatType: "dm",
  chatId,
  userId: `u${chatId}`,
  agentId,
});
const keyOf = (chatId: string, agentId = "main") => `agent:${agentId}:telegram:dm:${chatId}`;

/** Run the backend's child process appending `count` messages to `sessionId`; resolves once it has started. */
function startChild(job: StoreChildJob): { ready: Promise<void>; done: Promise<void>; kill: () => void } {
  const child = spawn(process.execPath, ["--conditions=@switchboard/source", CHILD, JSON.stringify(job)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let onReady!: () => void;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes("ready\n")) onReady();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the store child did not finish in 30 s: ${err || out}`));
    }, 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      onReady();
      if (code === 0 && out.includes(`done ${job.count}`)) resolve();
      else reject(new Error(`the store child exited ${code}: ${err || out}`));
    });
  });
  return { ready, done, kill: () => child.kill("SIGKILL") };
}

/**
 * The cases every session store backend must pass: sessions, messages, search, reset policies, migrations
 * (fresh and reopened), leases, the operations tables, and two processes writing one store at once. The
 * backend is the only backend-specific part: a module exporting a `StoreBackend` (see `sqliteStoreBackend`),
 * imported here and in the child process.
 */
export function runStoreConformance(name: string, ref: StoreBackendRef): void {
  describe(`session store conformance: ${name}`, () => {
    let backend: StoreBackend;
    const opened: SessionStore[] = [];
    const locations: string[] = [];
    let clock = Date.UTC(2026, 5, 1, 12, 0, 0);
    const now = () => clock;

    const load = async () => {
      if (backend) return backend;
      const mod = (await import(ref.module)) as Record<string, StoreBackend>;
      const b = mod[ref.exportName];
      if (!b) throw new Error(`${ref.module} has no export ${ref.exportName}`);
      backend = b;
      return b;
    };
    /** A fresh store (and its location, to reopen it). */
    const fresh = async () => {
      const b = await load();
      const location = await b.create();
      locations.push(location);
      const store = await b.open(location, { now });
      opened.push(store);
      return { store, location };
    };
    const reopen = async (location: string) => {
      const store = await backend.open(location, { now });
      opened.push(store);
      return store;
    };

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => {});
      for (const l of locations.splice(0)) await backend.destroy(l);
      clock = Date.UTC(2026, 5, 1, 12, 0, 0);
    });

    describe("sessions", () => {
      it("getOrCreate starts a session once per key and returns it after", async () => {
        const { store } = await fresh();
        const a = await store.getOrCreate(keyOf("1"), dm("1"));
        expect(a).toMatchObject({ created: true, reason: "new", messageIds: [] });
        expect(a.session).toMatchObject({
          sessionKey: keyOf("1"),
          agentId: "main",
          platform: "telegram",
          chatType: "dm",
          chatId: "1",
          userId: "u1",
          startedAt: clock,
          endedAt: null,
          messageCount: 0,
        });
        clock += MINUTE;
        const b = await store.getOrCreate(keyOf("1"), dm("1"));
        expect(b.created).toBe(false);
        expect(b.session.id).toBe(a.session.id);
        expect(b.session.updatedAt).toBe(clock);
        expect((await store.findActive(keyOf("1")))!.id).toBe(a.session.id);
        expect(await store.findActive(keyOf("2"))).toBeUndefined();
        expect(await store.get("no-such-session")).toBeUndefined();
      });

      it("getOrCreate appends in the same call, and the ids come back in order", async () => {
        const { store } = await fresh();
        const r = await store.getOrCreate(keyOf("1"), dm("1"), {
          append: [
            { role: "user", content: "one" },
            { role: "user", content: "two" },
          ],
        });
        expect(r.messageIds).toHaveLength(2);
        expect(r.messageIds[1]!).toBeGreaterThan(r.messageIds[0]!);
        expect(r.session.messageCount).toBe(2);
        expect((await store.history(r.session.id)).map((m) => m.id)).toEqual(r.messageIds);
      });

      it("ensure keeps a caller-chosen id, links parents, and refuses another agent", async () => {
        const { store } = await fresh();
        const parent = await store.ensure("api-p1", "agent:boss:api_server:dm:p1", dm("p1", "boss"));
        expect(parent.session).toMatchObject({ id: "api-p1", agentId: "boss" });
        const child = await store.ensure("api-c1", "agent:worker:delegate:c1", dm("c1", "worker"), {
          parentSessionId: "api-p1",
          append: [{ role: "user", content: "do it" }],
        });
        expect(child.messageIds).toHaveLength(1);
        const again = await store.ensure("api-c1", "agent:worker:delegate:c1", dm("c1", "worker"));
        expect(again.session.startedAt).toBe(child.session.startedAt);
        expect(again.messageIds).toEqual([]);
        expect(await store.parentOf("api-c1")).toBe("api-p1");
        expect(await store.parentOf("api-p1")).toBeUndefined();
        expect((await store.children("api-p1")).map((s) => s.id)).toEqual(["api-c1"]);
        await expect(store.ensure("api-c1", "agent:main:x:dm:c1", dm("c1", "main"))).rejects.toThrow(
          /belongs to agent "worker"/,
        );
        await store.setParent("api-p1", "api-c1");
        expect(await store.parentOf("api-p1")).toBe("api-c1");
      });

      it("two stores on one location continuing one new caller-chosen session at once: one session, every message", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const source = dm("race", "worker");
        const key = "agent:worker:api_server:dm:race";
        const writes = Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : other).append("api-race", [{ role: "user", content: `m${i}` }], {
            create: { sessionKey: key, source },
          }),
        );
        const ids = (await Promise.all(writes)).flat();
        expect(new Set(ids).size).toBe(8);
        const session = await store.get("api-race");
        expect(session).toMatchObject({ id: "api-race", agentId: "worker", messageCount: 8 });
        expect((await store.history("api-race")).map((m) => m.content).sort()).toEqual(
          Array.from({ length: 8 }, (_, i) => `m${i}`).sort(),
        );
      });

      it("end closes a session; list shows active ones newest first, per agent, ended on request", async () => {
        const { store } = await fresh();
        const a = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        clock += MINUTE;
        const b = (await store.getOrCreate(keyOf("2"), dm("2"))).session;
        clock += MINUTE;
        const c = (await store.getOrCreate(keyOf("3", "ops"), dm("3", "ops"))).session;
        await store.end(a.id, "manual");
        expect(await store.findActive(keyOf("1"))).toBeUndefined();
        expect(await store.get(a.id)).toMatchObject({ endReason: "manual", endedAt: clock });
        expect((await store.list()).map((s) => s.id)).toEqual([c.id, b.id]);
        expect((await store.list({ agentId: "main" })).map((s) => s.id)).toEqual([b.id]);
        expect((await store.list({ includeEnded: true })).map((s) => s.id)).toEqual([c.id, b.id, a.id]);
        expect(await store.list({ limit: 1 })).toHaveLength(1);
        // Ending twice keeps the first reason.
        await store.end(a.id, "again");
        expect((await store.get(a.id))!.endReason).toBe("manual");
        // The key starts a new session.
        const next = await store.getOrCreate(keyOf("1"), dm("1"));
        expect(next.created).toBe(true);
        expect(next.session.id).not.toBe(a.id);
      });

      it("keeps titles and token usage", async () => {
        const { store } = await fresh();
        const s = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        await store.setTitle(s.id, "Deploys");
        await store.addUsage(s.id, { inputTokens: 10, outputTokens: 3 });
        await store.append(s.id, [{ role: "assistant", content: "ok" }], {
          usage: { inputTokens: 5, outputTokens: 2 },
        });
        expect(await store.get(s.id)).toMatchObject({ title: "Deploys", inputTokens: 15, outputTokens: 5 });
      });
    });

    describe("model, resume and chat agents", () => {
      it("setModel keeps a session's model; resume reopens an ended session and ends the key's active one", async () => {
        const { store } = await fresh();
        const first = (await store.getOrCreate(keyOf("r1"), dm("r1"), { model: "echo" })).session;
        await store.setModel(first.id, "local/small");
        expect((await store.get(first.id))?.model).toBe("local/small");
        await expect(store.setModel("nope", "x")).rejects.toThrow();

        clock += MINUTE;
        const second = (await store.getOrCreate(keyOf("r1"), dm("r1"), { forceNew: true })).session;
        expect((await store.findActive(keyOf("r1")))?.id).toBe(second.id);
        clock += MINUTE;
        const resumed = await store.resume(first.id);
        expect(resumed).toMatchObject({ id: first.id, endedAt: null, endReason: null, updatedAt: clock });
        expect((await store.findActive(keyOf("r1")))?.id).toBe(first.id);
        expect(await store.get(second.id)).toMatchObject({ endReason: "resumed", endedAt: clock });
        await expect(store.resume("nope")).rejects.toThrow();
      });

      it("chat agent overrides: set, replace, read back after a reopen, clear", async () => {
        const { store, location } = await fresh();
        expect(await store.chatAgents.get("telegram:-100")).toBeUndefined();
        await store.chatAgents.set("telegram:-100", "ops", "telegram:1");
        await store.chatAgents.set("telegram:-100", "support", "telegram:2");
        const again = await reopen(location);
        expect(await again.chatAgents.get("telegram:-100")).toEqual({
          agentId: "support",
          setBy: "telegram:2",
          setAt: clock,
        });
        expect(await again.chatAgents.get("telegram@work:-100")).toBeUndefined();
        expect(await again.chatAgents.clear("telegram:-100")).toBe(true);
        expect(await again.chatAgents.clear("telegram:-100")).toBe(false);
      });
    });

    describe("messages", () => {
      it("append keeps order and ids, and history returns the last ones oldest first", async () => {
        const { store } = await fresh();
        const s = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        const ids: number[] = [];
        for (let i = 0; i < 6; i++)
          ids.push(...(await store.append(s.id, [{ role: "user", content: `m${i}` }])));
        const batch = await store.append(s.id, [
          { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "clock", input: {} }] },
          { role: "tool", content: "12:00", toolCallId: "c1" },
        ]);
        ids.push(...batch);
        expect([...ids].sort((x, y) => x - y)).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
        const all = await store.history(s.id, 100);
        expect(all.map((m) => m.id)).toEqual(ids);
        expect(all.map((m) => m.content)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "", "12:00"]);
        expect(all[6]).toMatchObject({
          role: "assistant",
          toolCalls: [{ id: "c1", name: "clock", input: {} }],
        });
        expect(all[7]).toMatchObject({ role: "tool", toolCallId: "c1", toolCalls: null, sessionId: s.id });
        expect((await store.history(s.id, 3)).map((m) => m.content)).toEqual(["m5", "", "12:00"]);
        expect(await store.history(s.id, 0)).toEqual([]);
        expect((await store.get(s.id))!.messageCount).toBe(8);
      });

      it("append with create makes a missing session in the same call, and refuses another agent's id", async () => {
        const { store } = await fresh();
        const create = { sessionKey: "agent:ops:api_server:session:n1", source: dm("n1", "ops"), model: "m" };
        const ids = await store.append(
          "api-n1",
          [
            { role: "user", content: "first words" },
            { role: "assistant", content: "first reply" },
          ],
          { usage: { inputTokens: 2, outputTokens: 3 }, create },
        );
        expect(ids).toHaveLength(2);
        expect(await store.get("api-n1")).toMatchObject({
          id: "api-n1",
          agentId: "ops",
          model: "m",
          messageCount: 2,
          inputTokens: 2,
          outputTokens: 3,
        });
        await store.append("api-n1", [{ role: "user", content: "second words" }], { create });
        expect((await store.history("api-n1")).map((m) => m.content)).toEqual([
          "first words",
          "first reply",
          "second words",
        ]);
        await expect(
          store.append("api-n1", [{ role: "user", content: "stolen" }], {
            create: { sessionKey: "agent:main:api_server:session:n1", source: dm("n1", "main") },
          }),
        ).rejects.toThrow(/belongs to agent "ops"/);
        expect(await store.search("stolen")).toEqual([]);
      });

      it("append to an unknown session rejects and keeps nothing", async () => {
        const { store } = await fresh();
        await expect(store.append("nope", [{ role: "user", content: "lost words" }])).rejects.toThrow();
        expect(await store.search("lost")).toEqual([]);
        expect(await store.history("nope")).toEqual([]);
      });

      it("rewind removes the tail after an id, alone or before an append", async () => {
        const { store } = await fresh();
        const s = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        const [a, b] = await store.append(s.id, [
          { role: "user", content: "question" },
          { role: "assistant", content: "answer one" },
        ]);
        await store.append(s.id, [{ role: "user", content: "follow-up" }]);
        expect(await store.rewind(s.id, b!)).toBe(1);
        const replaced = await store.append(s.id, [{ role: "assistant", content: "answer two" }], {
          rewindAfter: a!,
        });
        expect((await store.history(s.id)).map((m) => m.content)).toEqual(["question", "answer two"]);
        expect(replaced[0]!).toBeGreaterThan(b!);
        expect((await store.get(s.id))!.messageCount).toBe(2);
        expect(await store.rewind(s.id, 0)).toBe(2);
        expect(await store.history(s.id)).toEqual([]);
        expect((await store.get(s.id))!.messageCount).toBe(0);
      });
    });

    describe("search", () => {
      const seed = async (store: SessionStore) => {
        const main = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        const ops = (await store.getOrCreate(keyOf("2", "ops"), dm("2", "ops"))).session;
        await store.append(main.id, [
          { role: "user", content: "the deploy failed on friday", createdAt: clock + 1 },
        ]);
        await store.append(ops.id, [
          { role: "user", content: "deploy the billing service", createdAt: clock + 2 },
        ]);
        await store.append(main.id, [
          { role: "assistant", content: "昨天 部署失败 了，已经回滚", createdAt: clock + 3 },
        ]);
        return { main, ops };
      };

      it("finds words newest first with a snippet, scoped to one agent when asked", async () => {
        const { store } = await fresh();
        const { main, ops } = await seed(store);
        const hits = await store.search("deploy");
        expect(hits.map((h) => [h.sessionId, h.agentId, h.createdAt])).toEqual([
          [ops.id, "ops", clock + 2],
          [main.id, "main", clock + 1],
        ]);
        expect(hits[0]!.snippet).toContain("billing");
        expect(hits[0]!.role).toBe("user");
        expect((await store.search("deploy", { agentId: "main" })).map((h) => h.sessionId)).toEqual([
          main.id,
        ]);
        expect(await store.search("deploy", { limit: 1 })).toHaveLength(1);
        expect(await store.search("deploy friday")).toHaveLength(1);
        expect(await store.search("kubernetes")).toEqual([]);
      });

      it("finds a CJK word", async () => {
        const { store } = await fresh();
        const { main } = await seed(store);
        const hits = await store.search("部署失败");
        expect(hits.map((h) => [h.sessionId, h.role])).toEqual([[main.id, "assistant"]]);
        expect(hits[0]!.snippet).toContain("部署失败");
      });

      it("treats query syntax as text and answers an empty query with nothing", async () => {
        const { store } = await fresh();
        await seed(store);
        for (const q of ['"deploy', "deploy OR", "NEAR(", "col:deploy", "(", "*", "-deploy", "🚀"])
          await expect(store.search(q)).resolves.toBeInstanceOf(Array);
        expect(await store.search("   ")).toEqual([]);
      });
    });

    describe("reset policies", () => {
      it("idle: a session quiet longer than idle_minutes is ended and replaced", async () => {
        const { store } = await fresh();
        const reset = { mode: "idle", idle_minutes: 30, at_hour: 4 } as const;
        const first = (await store.getOrCreate(keyOf("1"), dm("1"), { reset })).session;
        clock += 29 * MINUTE;
        expect((await store.getOrCreate(keyOf("1"), dm("1"), { reset })).created).toBe(false);
        clock += 31 * MINUTE;
        const r = await store.getOrCreate(keyOf("1"), dm("1"), { reset });
        expect(r).toMatchObject({ created: true, reason: "idle" });
        expect(r.previous).toMatchObject({ id: first.id, endReason: "idle", endedAt: clock });
        expect((await store.findActive(keyOf("1")))!.id).toBe(r.session.id);
      });

      it("daily: a session last active before today's boundary is replaced", async () => {
        const { store } = await fresh();
        const at = new Date(clock);
        const boundary = new Date(at.getFullYear(), at.getMonth(), at.getDate(), 4, 0, 0, 0).getTime();
        const reset = { mode: "daily", idle_minutes: 1440, at_hour: 4 } as const;
        clock = boundary - 30 * MINUTE;
        const first = (await store.getOrCreate(keyOf("1"), dm("1"), { reset })).session;
        clock = boundary - MINUTE;
        expect((await store.getOrCreate(keyOf("1"), dm("1"), { reset })).created).toBe(false);
        clock = boundary + MINUTE;
        const r = await store.getOrCreate(keyOf("1"), dm("1"), { reset });
        expect(r).toMatchObject({ created: true, reason: "daily" });
        expect(r.previous).toMatchObject({ id: first.id, endReason: "daily" });
      });

      it("forceNew ends the current session with reason reset; mode none never rolls over", async () => {
        const { store } = await fresh();
        const first = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        clock += 400 * 24 * 60 * MINUTE;
        expect((await store.getOrCreate(keyOf("1"), dm("1"))).created).toBe(false);
        const r = await store.getOrCreate(keyOf("1"), dm("1"), { forceNew: true });
        expect(r).toMatchObject({ created: true, reason: "reset" });
        expect(r.previous).toMatchObject({ id: first.id, endReason: "reset" });
      });
    });

    describe("migrations", () => {
      it("a fresh store is usable at once, and reopening keeps everything and carries on", async () => {
        const { store, location } = await fresh();
        expect(await store.list({ includeEnded: true })).toEqual([]);
        expect(await store.checkWritable()).toEqual({ ok: true });
        const s = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        const [first] = await store.append(s.id, [{ role: "user", content: "before the restart" }]);
        await store.audit.append({ actor: "test", action: "store.reopen" });
        await store.close();
        await expect(store.get(s.id)).rejects.toThrow();

        const again = await reopen(location);
        expect((await again.get(s.id))!.messageCount).toBe(1);
        const [second] = await again.append(s.id, [{ role: "user", content: "after the restart" }]);
        expect(second!).toBeGreaterThan(first!);
        expect((await again.history(s.id)).map((m) => m.content)).toEqual([
          "before the restart",
          "after the restart",
        ]);
        expect(await again.search("restart")).toHaveLength(2);
        expect((await again.audit.list()).map((e) => e.action)).toEqual(["store.reopen"]);
        // Opening an up-to-date store a third time changes nothing.
        await again.close();
        const third = await reopen(location);
        expect((await third.list()).map((x) => x.id)).toEqual([s.id]);
      });
    });

    describe("leases", () => {
      it("one holder at a time until expiry; renew and release by the holder only", async () => {
        const { store } = await fresh();
        const t = clock;
        expect(await store.leases.acquire("cron:main:daily@1", "a", 10 * MINUTE, t)).toBe(true);
        expect(await store.leases.acquire("cron:main:daily@1", "b", 10 * MINUTE, t + MINUTE)).toBe(false);
        // A slot taken once is not taken again, by its own holder either.
        expect(await store.leases.acquire("cron:main:daily@1", "a", 10 * MINUTE, t + MINUTE)).toBe(false);
        expect(await store.leases.holder("cron:main:daily@1", t + MINUTE)).toEqual({
          holder: "a",
          expiresAt: t + 10 * MINUTE,
        });
        expect(await store.leases.acquire("other", "b", MINUTE, t)).toBe(true);

        expect(await store.leases.renew("cron:main:daily@1", "b", 10 * MINUTE, t + 2 * MINUTE)).toBe(false);
        expect(await store.leases.renew("cron:main:daily@1", "a", 10 * MINUTE, t + 2 * MINUTE)).toBe(true);
        expect((await store.leases.holder("cron:main:daily@1", t + 2 * MINUTE))!.expiresAt).toBe(
          t + 12 * MINUTE,
        );
        // Past the renewed expiry another holder takes it.
        expect(await store.leases.holder("cron:main:daily@1", t + 13 * MINUTE)).toBeUndefined();
        expect(await store.leases.acquire("cron:main:daily@1", "b", 10 * MINUTE, t + 13 * MINUTE)).toBe(true);
        expect(await store.leases.renew("cron:main:daily@1", "a", 10 * MINUTE, t + 14 * MINUTE)).toBe(false);

        expect(await store.leases.release("cron:main:daily@1", "a")).toBe(false);
        expect(await store.leases.release("cron:main:daily@1", "b")).toBe(true);
        expect(await store.leases.holder("cron:main:daily@1", t + 14 * MINUTE)).toBeUndefined();
        expect(await store.leases.acquire("cron:main:daily@1", "a", MINUTE, t + 14 * MINUTE)).toBe(true);
        expect(await store.leases.renew("never-taken", "a", MINUTE, t)).toBe(false);
      });

      it("contention: of many concurrent acquires exactly one wins", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const tries = Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? other : store).leases.acquire("replica:telegram:default", `h${i}`, MINUTE, clock),
        );
        const won = (await Promise.all(tries)).filter(Boolean);
        expect(won).toHaveLength(1);
      });
    });

    describe("inbound dedupe", () => {
      it("claims a message once across two stores on one location; other keys are apart; prune forgets by age", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const key = { platform: "slack", account: "default", chatId: "C1", messageId: "1700000000.000100" };
        const claims = await Promise.all([
          store.inbound.claim(key, clock),
          other.inbound.claim(key, clock),
          store.inbound.claim(key, clock),
          other.inbound.claim(key, clock),
        ]);
        expect(claims.filter(Boolean)).toHaveLength(1);
        for (const changed of [
          { platform: "telegram" },
          { account: "ops" },
          { chatId: "C2" },
          { messageId: "x" },
        ])
          expect(await other.inbound.claim({ ...key, ...changed }, clock + MINUTE)).toBe(true);
        expect(await store.inbound.prune(clock + 1)).toBe(1);
        // Forgotten, the first key can be claimed again; the newer ones are still seen.
        expect(await store.inbound.claim(key, clock + 2 * MINUTE)).toBe(true);
        expect(await store.inbound.claim({ ...key, chatId: "C2" }, clock + 2 * MINUTE)).toBe(false);
      });

      it("getOrCreate with a claim stores the message once across two stores; a repeat rejects and stores nothing", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const claim = { platform: "slack", account: "default", chatId: "D1", messageId: "m1" };
        const results = await Promise.allSettled(
          [store, other, store, other].map((s) =>
            s.getOrCreate(keyOf("D1"), dm("D1"), { append: [{ role: "user", content: "hello" }], claim }),
          ),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results.filter((r) => r.status === "rejected"))
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateInboundError);
        const session = (await store.findActive(keyOf("D1")))!;
        expect((await store.history(session.id)).map((m) => m.content)).toEqual(["hello"]);
        // A claim made with `inbound.claim` (a command) is seen too.
        expect(await store.inbound.claim(claim, clock)).toBe(false);
        // A command claimed first (no session) that goes on to the agent: its claim is taken into the inbox, once.
        const command = { ...claim, messageId: "m2" };
        expect(await other.inbound.claim(command, clock)).toBe(true);
        const put = () =>
          store.getOrCreate(keyOf("D1"), dm("D1"), {
            append: [{ role: "user", content: "/x y" }],
            claim: command,
          });
        const taken = await put();
        expect((await other.inbound.unanswered(session.id)).map((m) => m.storedId)).toContain(
          taken.messageIds[0],
        );
        await expect(put()).rejects.toBeInstanceOf(DuplicateInboundError);
      });

      it("a session's inbox: claimed messages in claim order until answered, from any store; stalled sessions by age", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const claim = (messageId: string, chat = "D1") => ({
          platform: "slack",
          account: "default",
          chatId: chat,
          messageId,
        });
        const put = (s: SessionStore, text: string, chat = "D1") =>
          s.getOrCreate(keyOf(chat), dm(chat), {
            append: [{ role: "user", content: text }],
            claim: claim(text, chat),
          });
        const first = await put(store, "m1");
        clock += 1000;
        const second = await put(other, "m2");
        const third = await put(store, "m3");
        const elsewhere = await put(other, "x1", "D2");
        const sid = first.session.id;
        expect(second.session.id).toBe(sid);
        // Not claimed: an assistant reply appended after them is not in the inbox.
        await store.append(sid, [{ role: "assistant", content: "reply" }]);
        const inbox = await other.inbound.unanswered(sid);
        expect(inbox.map((m) => m.content)).toEqual(["m1", "m2", "m3"]);
        expect(inbox.map((m) => m.storedId)).toEqual([
          first.messageIds[0],
          second.messageIds[0],
          third.messageIds[0],
        ]);
        expect(inbox[0]).toMatchObject({ key: claim("m1"), sessionId: sid, seenAt: clock - 1000 });
        expect((await store.inbound.unanswered(elsewhere.session.id)).map((m) => m.content)).toEqual(["x1"]);

        // Stalled: claimed before the cut-off and still unanswered.
        expect(await store.inbound.stalled(clock - 500)).toEqual([sid]);
        expect((await store.inbound.stalled(clock + 1)).sort()).toEqual([sid, elsewhere.session.id].sort());

        // Answered by one store, gone from the inbox for both; answering again counts nothing.
        expect(await store.inbound.answer(sid, [first.messageIds[0]!, second.messageIds[0]!])).toBe(2);
        expect(await other.inbound.answer(sid, [second.messageIds[0]!])).toBe(0);
        // Another session's id does not answer this one's.
        expect(await other.inbound.answer(elsewhere.session.id, [third.messageIds[0]!])).toBe(0);
        expect((await other.inbound.unanswered(sid)).map((m) => m.content)).toEqual(["m3"]);
        expect(await store.inbound.answer(sid, [])).toBe(0);
        await store.inbound.answer(sid, [third.messageIds[0]!]);
        expect(await store.inbound.unanswered(sid)).toEqual([]);
        expect(await store.inbound.stalled(clock + 1)).toEqual([elsewhere.session.id]);
        // Still seen: a redelivery is refused after it was answered.
        await expect(put(other, "m1")).rejects.toBeInstanceOf(DuplicateInboundError);
      });
    });

    runTableCases({
      fresh,
      reopen,
      now,
      advance: (ms) => {
        clock += ms;
      },
    });
    idempotencyCases({
      fresh,
      reopen,
      now,
      advance: (ms) => {
        clock += ms;
      },
    });
    outboxCases({
      fresh,
      reopen,
      now,
      advance: (ms) => {
        clock += ms;
      },
    });

    describe("operations tables", () => {
      it("responses: put, get within the age limit, delete, bytes; one larger than the budget is refused", async () => {
        const { store } = await fresh();
        const record = {
          id: "resp_1",
          owner: "key:1",
          agentId: "main",
          publicSessionId: "api-1",
          messages: [{ role: "user", content: "hi" }],
          body: { id: "resp_1", object: "response" },
          inputItems: [{ id: "msg_1", type: "message" }],
          createdAt: clock,
        };
        const retention = { maxAgeMs: 60 * MINUTE, maxBytes: 10_000 };
        expect(await store.responses.put(record, retention)).toBe(true);
        expect(await store.responses.get("resp_1", retention.maxAgeMs)).toEqual(record);
        expect(await store.responses.bytes()).toBeGreaterThan(0);
        clock += 61 * MINUTE;
        expect(await store.responses.get("resp_1", retention.maxAgeMs)).toBeUndefined();
        expect(await store.responses.get("resp_1", 120 * MINUTE)).toBeDefined();
        expect(await store.responses.delete("resp_1")).toBe(true);
        expect(await store.responses.delete("resp_1")).toBe(false);
        expect(await store.responses.bytes()).toBe(0);
        const huge = { ...record, id: "resp_2", body: { text: "x".repeat(20_000) } };
        expect(await store.responses.put(huge, retention)).toBe(false);
        expect(await store.responses.get("resp_2", retention.maxAgeMs)).toBeUndefined();
      });

      it("usage: records, day and month totals per scope, summaries by group", async () => {
        const { store } = await fresh();
        const row = (agentId: string, tokens: number, costUsd: number) => ({
          at: clock,
          agentId,
          userId: "u1",
          model: "m",
          inputTokens: tokens,
          outputTokens: 0,
          costUsd,
        });
        await store.usage.record(row("main", 100, 0.5), ["agent:main", "user:telegram:u1"]);
        await store.usage.record(row("main", 50, 0.25), ["agent:main"]);
        await store.usage.record(row("ops", 10, 0.1), ["agent:ops"]);
        const day = `d:${new Date(clock).toISOString().slice(0, 10)}`;
        const month = `m:${new Date(clock).toISOString().slice(0, 7)}`;
        expect(await store.usage.total("agent:main", day)).toEqual({ tokens: 150, costUsd: 0.75 });
        expect(await store.usage.total("agent:main", month)).toEqual({ tokens: 150, costUsd: 0.75 });
        expect(await store.usage.total("user:telegram:u1", day)).toEqual({ tokens: 100, costUsd: 0.5 });
        expect(await store.usage.total("agent:none", day)).toEqual({ tokens: 0, costUsd: 0 });
        const byAgent = await store.usage.summary({ groupBy: ["agent"] });
        expect(byAgent.map((r) => [r.agent, r.calls, r.inputTokens])).toEqual([
          ["main", 2, 150],
          ["ops", 1, 10],
        ]);
        expect((await store.usage.summary({ agentId: "ops", groupBy: [] }))[0]).toMatchObject({ calls: 1 });
        expect(await store.usage.summary({ since: clock + 1 })).toEqual([]);
      });

      it("usage: calls recorded together (one commit) add up per scope and per day, across a midnight", async () => {
        const { store } = await fresh();
        const midnight = Date.UTC(2026, 5, 2);
        const call = (at: number, userId: string, tokens: number) => ({
          at,
          agentId: "main",
          userId,
          inputTokens: tokens,
          outputTokens: 1,
          costUsd: tokens / 1000,
        });
        await Promise.all([
          store.usage.record(call(midnight - 1, "a", 10), ["agent:main", "user:telegram:a"]),
          store.usage.record(call(midnight - 1, "b", 20), ["agent:main", "user:telegram:b"]),
          store.usage.record(call(midnight, "a", 30), ["agent:main", "user:telegram:a"]),
          store.usage.record(call(midnight + 1, "a", 40), ["agent:main", "user:telegram:a"]),
        ]);
        const t = (scope: string, window: string) => store.usage.total(scope, window);
        expect(await t("agent:main", "d:2026-06-01")).toEqual({
          tokens: 32,
          costUsd: expect.closeTo(0.03, 9),
        });
        expect(await t("agent:main", "d:2026-06-02")).toEqual({
          tokens: 72,
          costUsd: expect.closeTo(0.07, 9),
        });
        expect(await t("agent:main", "m:2026-06")).toEqual({ tokens: 104, costUsd: expect.closeTo(0.1, 9) });
        expect(await t("user:telegram:a", "d:2026-06-01")).toEqual({
          tokens: 11,
          costUsd: expect.closeTo(0.01, 9),
        });
        expect(await t("user:telegram:a", "d:2026-06-02")).toEqual({
          tokens: 72,
          costUsd: expect.closeTo(0.07, 9),
        });
        expect(await t("user:telegram:b", "m:2026-06")).toEqual({
          tokens: 21,
          costUsd: expect.closeTo(0.02, 9),
        });
        expect((await store.usage.summary({ groupBy: [] }))[0]).toMatchObject({ calls: 4, inputTokens: 100 });
      });

      it("usage: own spend shows in the totals at once, another store's on the location within USAGE_TOTAL_TTL_MS", async () => {
        const { store, location } = await fresh();
        const other = await reopen(location);
        const day = `d:${new Date(clock).toISOString().slice(0, 10)}`;
        const month = `m:${new Date(clock).toISOString().slice(0, 7)}`;
        const zero = { tokens: 0, costUsd: 0 };
        // Both read the totals (a budget check): now each has them cached.
        for (const s of [store, other]) {
          expect(await s.usage.total("agent:main", day)).toEqual(zero);
          expect(await s.usage.total("agent:main", month)).toEqual(zero);
        }
        const spent = { at: clock, agentId: "main", inputTokens: 70, outputTokens: 30, costUsd: 0.5 };
        await store.usage.record(spent, ["agent:main"]);
        expect(await store.usage.total("agent:main", day)).toEqual({ tokens: 100, costUsd: 0.5 });
        expect(
          store.usage.cached?.("agent:main", month) ?? (await store.usage.total("agent:main", month)),
        ).toEqual({ tokens: 100, costUsd: 0.5 });
        // The other store answers from what it read until the bound has passed, then reads again.
        clock += USAGE_TOTAL_TTL_MS - 1;
        expect(await other.usage.total("agent:main", day)).toEqual(zero);
        clock += 1;
        expect(other.usage.cached?.("agent:main", day)).toBeUndefined();
        expect(await other.usage.total("agent:main", day)).toEqual({ tokens: 100, costUsd: 0.5 });
        expect(await other.usage.total("agent:main", month)).toEqual({ tokens: 100, costUsd: 0.5 });
      });

      it("audit: append-only entries in order, once-keys written once", async () => {
        const { store } = await fresh();
        expect(await store.audit.append({ actor: "a", action: "x.one", target: "t", detail: { n: 1 } })).toBe(
          true,
        );
        expect(await store.audit.append({ actor: "a", action: "key.use", onceKey: "key-use:1:d" })).toBe(
          true,
        );
        expect(await store.audit.append({ actor: "a", action: "key.use", onceKey: "key-use:1:d" })).toBe(
          false,
        );
        const all = await store.audit.list();
        expect(all.map((e) => [e.action, e.target, e.detail])).toEqual([
          ["x.one", "t", { n: 1 }],
          ["key.use", null, null],
        ]);
        expect(all[1]!.id).toBeGreaterThan(all[0]!.id);
        expect((await store.audit.list({ action: "x.one" })).map((e) => e.actor)).toEqual(["a"]);
      });

      it("rates: a bucket empties and refills with time", async () => {
        const { store } = await fresh();
        const perMs = 2 / MINUTE;
        expect(await store.rates.take("rpm:user:1", 2, perMs, clock)).toBe(0);
        expect(await store.rates.take("rpm:user:1", 2, perMs, clock)).toBe(0);
        const wait = await store.rates.take("rpm:user:1", 2, perMs, clock);
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(MINUTE / 2);
        expect(await store.rates.take("rpm:user:1", 2, perMs, clock + wait)).toBe(0);
        expect(await store.rates.take("rpm:user:2", 2, perMs, clock)).toBe(0);
      });

      it("probe and checkWritable report a writable store, and write nothing", async () => {
        const { store } = await fresh();
        expect(await store.checkWritable()).toEqual({ ok: true });
        const p = await store.probe();
        expect(p.writable).toBe(true);
        expect(p.latencyMs).toBeGreaterThanOrEqual(0);
        expect(await store.list({ includeEnded: true })).toEqual([]);
        expect(await store.audit.list()).toEqual([]);
      });
    });

    describe("pairing", () => {
      const ask = (userId: string, code: string, extra: Record<string, unknown> = {}) => ({
        platform: "telegram",
        account: "default",
        userId,
        userName: `user ${userId}`,
        chatId: userId,
        code,
        ttlMs: 60 * MINUTE,
        maxPending: 3,
        ...extra,
      });

      it("one live code per user; approve lets the user in and removes the request, codes case-insensitive", async () => {
        const { store, location } = await fresh();
        const first = await store.pairing.request(ask("7", "ab12cd34"));
        expect(first).toMatchObject({ status: "created", request: { code: "AB12CD34", userId: "7" } });
        expect(await store.pairing.request(ask("7", "ZZZZZZZZ"))).toMatchObject({
          status: "existing",
          request: { code: "AB12CD34" },
        });
        expect((await store.pairing.pending()).map((r) => r.code)).toEqual(["AB12CD34"]);
        expect(await store.pairing.isApproved("telegram", "default", "7")).toBe(false);
        const approved = await store.pairing.approve("ab12cd34", "cli:ada");
        expect(approved).toMatchObject({
          platform: "telegram",
          account: "default",
          userId: "7",
          approvedBy: "cli:ada",
        });
        expect(await store.pairing.pending()).toEqual([]);
        expect(await store.pairing.approve("AB12CD34", "cli:ada")).toBeUndefined();
        // Approvals are per platform account, and survive a reopen.
        const again = await reopen(location);
        expect(await again.pairing.isApproved("telegram", "default", "7")).toBe(true);
        expect(await again.pairing.isApproved("telegram", "work", "7")).toBe(false);
        expect((await again.pairing.approved()).map((a) => a.userName)).toEqual(["user 7"]);
      });

      it("an expired code cannot be approved or denied, and the user gets a new one", async () => {
        const { store } = await fresh();
        await store.pairing.request(ask("7", "OLDCODE1"));
        clock += 61 * MINUTE;
        expect(await store.pairing.approve("OLDCODE1", "cli:ada")).toBeUndefined();
        expect(await store.pairing.deny("OLDCODE1")).toBeUndefined();
        expect(await store.pairing.pending()).toEqual([]);
        expect(await store.pairing.request(ask("7", "NEWCODE1"))).toMatchObject({
          status: "created",
          request: { code: "NEWCODE1" },
        });
        expect(await store.pairing.isApproved("telegram", "default", "7")).toBe(false);
      });

      it("the pending list of an account is bounded; expired requests make room; deny drops one", async () => {
        const { store } = await fresh();
        for (const u of ["1", "2", "3"])
          expect((await store.pairing.request(ask(u, `CODE000${u}`))).status).toBe("created");
        expect(await store.pairing.request(ask("4", "CODE0004"))).toEqual({ status: "full", pending: 3 });
        // Another account has its own bound.
        expect((await store.pairing.request(ask("4", "CODE0005", { account: "work" }))).status).toBe(
          "created",
        );
        expect(await store.pairing.deny("code0001")).toMatchObject({ userId: "1" });
        expect((await store.pairing.request(ask("4", "CODE0006"))).status).toBe("created");
        clock += 61 * MINUTE;
        expect((await store.pairing.request(ask("9", "CODE0009"))).status).toBe("created");
        expect((await store.pairing.pending({ account: "default" })).map((r) => r.userId)).toEqual(["9"]);
      });

      it("revoke removes a user's approval of one account or of every account", async () => {
        const { store } = await fresh();
        await store.pairing.request(ask("7", "CODEA001"));
        await store.pairing.request(ask("7", "CODEB001", { account: "work" }));
        await store.pairing.approve("CODEA001", "a");
        await store.pairing.approve("CODEB001", "a");
        expect(await store.pairing.revoke("telegram", "7", "work")).toBe(1);
        expect(await store.pairing.isApproved("telegram", "work", "7")).toBe(false);
        expect(await store.pairing.isApproved("telegram", "default", "7")).toBe(true);
        expect(await store.pairing.revoke("telegram", "7")).toBe(1);
        expect(await store.pairing.revoke("telegram", "7")).toBe(0);
        expect(await store.pairing.approved()).toEqual([]);
      });
    });

    describe("concurrency", () => {
      it("two processes appending to one store lose nothing and keep each one's order", async () => {
        const { store, location } = await fresh();
        const s = (await store.getOrCreate(keyOf("1"), dm("1"))).session;
        const count = 150;
        const child = startChild({ backend: ref, location, sessionId: s.id, count, prefix: "child-" });
        try {
          await child.ready;
          // Sequential commits here while the child commits its own: the two really interleave.
          for (let i = 0; i < count; i++)
            await store.append(s.id, [{ role: "user", content: `parent-${i}` }]);
          await child.done;
          const history = await store.history(s.id, 4 * count);
          expect(history).toHaveLength(2 * count);
          const ids = history.map((m) => m.id);
          expect([...ids].sort((a, b) => a - b)).toEqual(ids);
          const of = (prefix: string) =>
            history.filter((m) => m.content.startsWith(prefix)).map((m) => m.content);
          expect(of("parent-")).toEqual(Array.from({ length: count }, (_, i) => `parent-${i}`));
          expect(of("child-")).toEqual(Array.from({ length: count }, (_, i) => `child-${i}`));
          expect((await store.get(s.id))!.messageCount).toBe(2 * count);
          expect(await store.search("child-149")).toHaveLength(1);
        } finally {
          child.kill();
        }
      }, 60_000);
    });
  });
}
