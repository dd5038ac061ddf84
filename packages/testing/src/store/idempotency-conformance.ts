import type { SessionStore } from "@switchboard/core";
import { describe, expect, it } from "vitest";

export interface IdempotencyCaseDeps {
  fresh(): Promise<{ store: SessionStore; location: string }>;
  reopen(location: string): Promise<SessionStore>;
  now(): number;
  advance(ms: number): void;
}

const answer = (text: string) => ({
  status: 200,
  headers: [["content-type", "application/json"]] as [string, string][],
  body: new TextEncoder().encode(JSON.stringify({ text })),
});

/** `Idempotency-Key` claims (`store.idempotency`) and the per-key run count, seen from two stores on one location. */
export function idempotencyCases(deps: IdempotencyCaseDeps): void {
  describe("idempotency keys", () => {
    it("one claim wins across stores; the other sees it pending, then the kept answer, byte for byte", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      const until = deps.now() + 60_000;
      expect(await store.idempotency.claim("k1", "fp", "h1", until)).toEqual({ state: "claimed" });
      expect(await other.idempotency.claim("k1", "fp", "h2", until)).toEqual({
        state: "pending",
        fingerprint: "fp",
      });
      // Only the holder's claim takes the answer.
      expect(await other.idempotency.finish("k1", "h2", answer("no"), until)).toBe(false);
      expect(await store.idempotency.finish("k1", "h1", answer("yes"), until)).toBe(true);
      const seen = await other.idempotency.claim("k1", "fp", "h3", until);
      expect(seen.state).toBe("done");
      if (seen.state !== "done") return;
      expect(seen.fingerprint).toBe("fp");
      expect(seen.response.status).toBe(200);
      expect(seen.response.headers).toEqual([["content-type", "application/json"]]);
      expect(new TextDecoder().decode(seen.response.body)).toBe(JSON.stringify({ text: "yes" }));
    });

    it("a forgotten claim and an expired one are claimed again; another body's fingerprint is reported", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      expect(await store.idempotency.claim("k2", "fp-a", "h1", deps.now() + 1000)).toEqual({
        state: "claimed",
      });
      expect(await other.idempotency.claim("k2", "fp-b", "h2", deps.now() + 1000)).toEqual({
        state: "pending",
        fingerprint: "fp-a",
      });
      expect(await other.idempotency.forget("k2", "h2")).toBe(false);
      expect(await store.idempotency.forget("k2", "h1")).toBe(true);
      expect(await other.idempotency.claim("k2", "fp-b", "h2", deps.now() + 1000)).toEqual({
        state: "claimed",
      });
      // The kept answer lasts until the expiry `finish` gives it, past the claim's.
      await other.idempotency.finish("k2", "h2", answer("b"), deps.now() + 2000);
      deps.advance(1000);
      expect((await store.idempotency.claim("k2", "fp-b", "h3", deps.now() + 1000)).state).toBe("done");
      deps.advance(1000);
      expect(await store.idempotency.claim("k2", "fp-c", "h3", deps.now() + 1000)).toEqual({
        state: "claimed",
      });
    });
  });

  describe("runs per key", () => {
    it("activeOf lists a key's unfinished runs from every store on the location", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      const run = (id: string, owner: string, replicaId: string) => ({
        id,
        owner,
        agentId: "main",
        sessionId: `api-${id}`,
        createdAt: deps.now(),
        replicaId,
        status: "running" as const,
        completedAt: null,
        output: "",
        usage: null,
        error: null,
        pendingApprovals: [],
      });
      const retention = { maxAgeMs: 60_000, maxCount: 100 };
      await store.runs.create(run("run_a", "key:1", "a"), [], retention);
      await other.runs.create(run("run_b", "key:1", "b"), [], retention);
      await other.runs.create(run("run_c", "key:2", "b"), [], retention);
      await other.runs.create(run("run_d", "key:1", "b"), [], retention);
      await other.runs.update(
        "run_d",
        { ...run("run_d", "key:1", "b"), status: "completed", completedAt: deps.now() },
        [],
      );
      const ids = (await store.runs.activeOf("key:1")).map((r) => `${r.id}@${r.replicaId}`).sort();
      expect(ids).toEqual(["run_a@a", "run_b@b"]);
      expect(await store.runs.activeOf("key:3")).toEqual([]);
    });
  });
}
