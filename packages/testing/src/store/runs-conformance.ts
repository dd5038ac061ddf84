import type { RunState, SessionStore, StoredRunEvent } from "@switchboard/core";
import { describe, expect, it } from "vitest";

export interface RunCaseDeps {
  fresh(): Promise<{ store: SessionStore; location: string }>;
  reopen(location: string): Promise<SessionStore>;
  now(): number;
  advance(ms: number): void;
}

const MINUTE = 60_000;
const retention = { maxAgeMs: 60 * MINUTE, maxCount: 100 };

const event = (
  runId: string,
  seq: number,
  name: string,
  fields: Record<string, unknown> = {},
): StoredRunEvent => ({
  seq,
  event: name,
  data: { event: name, run_id: runId, seq, ...fields },
});

const running = (output = ""): RunState => ({
  status: "running",
  completedAt: null,
  output,
  usage: null,
  error: null,
  pendingApprovals: [],
});

/** The run table's cases (part of `runStoreConformance`): what lets a run be followed from another process. */
export function runTableCases(deps: RunCaseDeps): void {
  const newRun = (id: string, replicaId = "replica-a") => ({
    id,
    owner: "key:1",
    agentId: "main",
    sessionId: `api-${id}`,
    createdAt: deps.now(),
    replicaId,
    ...running(),
  });

  describe("runs", () => {
    it("create, update and events: another store on the location reads the run and its events in order", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      await store.runs.create(newRun("run_1"), [event("run_1", 0, "run.started")], retention);
      expect(await other.runs.get("run_1")).toMatchObject({
        id: "run_1",
        owner: "key:1",
        agentId: "main",
        sessionId: "api-run_1",
        status: "running",
        replicaId: "replica-a",
        stopRequested: false,
        lastSeq: 0,
        completedAt: null,
        usage: null,
        error: null,
      });
      const approvals = [{ id: "appr_1", tool: "shell" }];
      expect(
        await store.runs.update("run_1", { ...running("Hel"), pendingApprovals: approvals }, [
          event("run_1", 1, "message.delta", { delta: "Hel" }),
          event("run_1", 2, "approval.required", { approval_id: "appr_1" }),
        ]),
      ).toBe(true);
      expect((await other.runs.get("run_1"))?.pendingApprovals).toEqual(approvals);
      const done: RunState = {
        status: "completed",
        completedAt: deps.now(),
        output: "Hello",
        usage: { inputTokens: 3, outputTokens: 2 },
        error: null,
        pendingApprovals: [],
      };
      expect(
        await store.runs.update("run_1", done, [
          event("run_1", 3, "message.delta", { delta: "lo" }),
          event("run_1", 4, "run.completed", { output: "Hello" }),
        ]),
      ).toBe(true);
      const events = await other.runs.events("run_1", -1);
      expect(events.map((e) => [e.seq, e.event])).toEqual([
        [0, "run.started"],
        [1, "message.delta"],
        [2, "approval.required"],
        [3, "message.delta"],
        [4, "run.completed"],
      ]);
      expect(events[1]!.data).toEqual({ event: "message.delta", run_id: "run_1", seq: 1, delta: "Hel" });
      expect((await other.runs.events("run_1", 2)).map((e) => e.seq)).toEqual([3, 4]);
      expect((await other.runs.events("run_1", 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
      expect(await other.runs.get("run_1")).toMatchObject({ ...done, lastSeq: 4 });
      expect(await other.runs.get("run_missing")).toBeUndefined();
    });

    it("a terminal run is not written again: a late update keeps nothing", async () => {
      const { store } = await deps.fresh();
      await store.runs.create(newRun("run_2"), [event("run_2", 0, "run.started")], retention);
      const failed: RunState = {
        ...running(),
        status: "failed",
        completedAt: deps.now(),
        error: { message: "the replica died", code: "replica_lost" },
      };
      expect(await store.runs.update("run_2", failed, [event("run_2", 1, "run.failed")])).toBe(true);
      expect(await store.runs.update("run_2", running("late"), [event("run_2", 2, "message.delta")])).toBe(
        false,
      );
      const run = await store.runs.get("run_2");
      expect(run).toMatchObject({ status: "failed", output: "", error: failed.error, lastSeq: 1 });
    });

    it("stop requests: flagged from another store, seen by the executing one; a finished run cannot be flagged", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      await store.runs.create(newRun("run_a"), [], retention);
      await store.runs.create(newRun("run_b"), [], retention);
      expect(await store.runs.stopRequested(["run_a", "run_b"])).toEqual([]);
      expect(await other.runs.requestStop("run_b")).toBe(true);
      expect(await store.runs.stopRequested(["run_a", "run_b"])).toEqual(["run_b"]);
      expect(await store.runs.stopRequested([])).toEqual([]);
      expect((await store.runs.get("run_b"))?.stopRequested).toBe(true);
      await store.runs.update("run_b", { ...running(), status: "cancelled", completedAt: deps.now() }, []);
      expect(await store.runs.stopRequested(["run_b"])).toEqual([]);
      expect(await other.runs.requestStop("run_b")).toBe(false);
      expect(await other.runs.requestStop("run_nope")).toBe(false);
    });

    it("answers: given on another store once per tool call, read and taken by the executing one", async () => {
      const { store, location } = await deps.fresh();
      const other = await deps.reopen(location);
      await store.runs.create(newRun("run_q"), [], retention);
      const yes = { runId: "run_q", approvalId: "appr_1", approved: true, by: "api:key:1" };
      expect(await other.runs.answer(yes)).toBe(true);
      // The same call answered again (another replica, a retry) is refused.
      expect(await other.runs.answer({ ...yes, approved: false })).toBe(false);
      const no = {
        runId: "run_q",
        approvalId: "appr_2",
        approved: false,
        by: "api:key:1",
        reason: "not now",
      };
      deps.advance(1);
      expect(await other.runs.answer(no)).toBe(true);
      expect(await store.runs.answers(["run_q", "run_other"])).toEqual([yes, no]);
      expect(await store.runs.answers([])).toEqual([]);
      await store.runs.takeAnswer("run_q", "appr_1");
      expect(await store.runs.answers(["run_q"])).toEqual([no]);
      await store.runs.update("run_q", { ...running(), status: "completed", completedAt: deps.now() }, []);
      expect(await other.runs.answer({ ...yes, approvalId: "appr_3" })).toBe(false);
      expect(await other.runs.answer({ ...yes, runId: "run_nope" })).toBe(false);
    });

    it("unfinished lists the runs not terminal with their replica, oldest first", async () => {
      const { store } = await deps.fresh();
      await store.runs.create(newRun("run_x", "replica-a"), [], retention);
      deps.advance(1);
      await store.runs.create(newRun("run_y", "replica-b"), [], retention);
      deps.advance(1);
      await store.runs.create(newRun("run_z", "replica-b"), [], retention);
      await store.runs.update("run_z", { ...running(), status: "completed", completedAt: deps.now() }, []);
      expect(await store.runs.unfinished()).toEqual([
        { id: "run_x", replicaId: "replica-a" },
        { id: "run_y", replicaId: "replica-b" },
      ]);
    });

    it("retention: finished runs past the age or the count go, with their events; running ones stay", async () => {
      const { store } = await deps.fresh();
      const small = { maxAgeMs: 10 * MINUTE, maxCount: 2 };
      const finish = async (id: string) => {
        await store.runs.create(newRun(id), [event(id, 0, "run.started")], small);
        await store.runs.update(id, { ...running(), status: "completed", completedAt: deps.now() }, [
          event(id, 1, "run.completed"),
        ]);
        deps.advance(1000);
      };
      await store.runs.create(newRun("run_live"), [event("run_live", 0, "run.started")], small);
      await finish("run_old");
      deps.advance(11 * MINUTE);
      await finish("run_f1");
      // run_old is past its age: gone at the next create.
      expect(await store.runs.get("run_old")).toBeUndefined();
      expect(await store.runs.events("run_old", -1)).toEqual([]);
      await finish("run_f2");
      await finish("run_f3");
      // At most two finished runs are kept: the next create drops the oldest of three (run_f1).
      await store.runs.create(newRun("run_next"), [], small);
      expect(await store.runs.get("run_f1")).toBeUndefined();
      expect(await store.runs.get("run_f2")).toBeDefined();
      expect(await store.runs.get("run_f3")).toBeDefined();
      expect(await store.runs.get("run_live")).toMatchObject({ status: "running", lastSeq: 0 });
    });
  });
}
