import type { Database } from "better-sqlite3";
import {
  answerFromRow,
  type RunAnswer,
  type RunRow,
  type RunTable,
  runFromRow,
  type StoredRunEvent,
  stateParams,
  TERMINAL_SQL as TERMINAL,
} from "../runs.ts";
import type { WriteBatcher } from "./write-batch.ts";

/** The runs table's statements over an open, migrated database; writes share the store's group commits. */
export function runTable(db: Database, writes: WriteBatcher, clock: () => number): RunTable {
  const stmt = {
    insert:
      db.prepare(`INSERT INTO runs (id, owner, agent_id, session_id, status, updated_at, completed_at, output,
      usage, error, pending_approvals, created_at, replica_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    update: db.prepare(`UPDATE runs SET status = ?, updated_at = ?, completed_at = ?, output = ?, usage = ?,
      error = ?, pending_approvals = ? WHERE id = ? AND status NOT IN ${TERMINAL}`),
    event: db.prepare("INSERT INTO run_events (run_id, seq, event, data) VALUES (?, ?, ?, ?)"),
    get: db.prepare(`SELECT id, owner, agent_id AS agentId, session_id AS sessionId, status, created_at AS createdAt,
      completed_at AS completedAt, output, usage, error, pending_approvals AS pendingApprovals,
      replica_id AS replicaId, stop_requested AS stopRequested,
      (SELECT MAX(seq) FROM run_events WHERE run_id = runs.id) AS lastSeq FROM runs WHERE id = ?`),
    events: db.prepare(
      "SELECT seq, event, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ),
    stop: db.prepare(`UPDATE runs SET stop_requested = 1 WHERE id = ? AND status NOT IN ${TERMINAL}`),
    stopped: db
      .prepare(`SELECT id FROM runs WHERE stop_requested = 1 AND status NOT IN ${TERMINAL}
        AND id IN (SELECT value FROM json_each(?))`)
      .pluck(),
    expired: db.prepare(
      `SELECT id FROM runs WHERE status IN ${TERMINAL} AND completed_at < ? ORDER BY completed_at`,
    ),
    finished: db.prepare(`SELECT COUNT(*) FROM runs WHERE status IN ${TERMINAL}`).pluck(),
    oldest: db.prepare(`SELECT id FROM runs WHERE status IN ${TERMINAL} ORDER BY completed_at, id LIMIT ?`),
    answer: db.prepare(`INSERT INTO run_answers (run_id, approval_id, approved, answered_by, reason, at)
      SELECT id, ?, ?, ?, ?, ? FROM runs WHERE id = ? AND status NOT IN ${TERMINAL}
      ON CONFLICT (run_id, approval_id) DO NOTHING`),
    answers:
      db.prepare(`SELECT run_id AS runId, approval_id AS approvalId, approved, answered_by AS "by", reason
      FROM run_answers WHERE taken = 0 AND run_id IN (SELECT value FROM json_each(?)) ORDER BY at`),
    take: db.prepare("UPDATE run_answers SET taken = 1 WHERE run_id = ? AND approval_id = ?"),
    dropAnswers: db.prepare("DELETE FROM run_answers WHERE run_id = ?"),
    unfinished: db.prepare(
      `SELECT id, replica_id AS replicaId FROM runs WHERE status NOT IN ${TERMINAL} ORDER BY created_at`,
    ),
    activeOf: db.prepare(
      `SELECT id, replica_id AS replicaId FROM runs WHERE owner = ? AND status NOT IN ${TERMINAL}`,
    ),
    drop: db.prepare("DELETE FROM runs WHERE id = ?"),
    dropEvents: db.prepare("DELETE FROM run_events WHERE run_id = ?"),
  };
  const drop = (id: string) => {
    stmt.dropEvents.run(id);
    stmt.dropAnswers.run(id);
    stmt.drop.run(id);
  };
  const append = (id: string, events: readonly StoredRunEvent[]) => {
    for (const e of events) stmt.event.run(id, e.seq, e.event, JSON.stringify(e.data));
  };

  return {
    create: (run, events, retention) =>
      writes.run(() => {
        for (const r of stmt.expired.all(clock() - retention.maxAgeMs) as Array<{ id: string }>) drop(r.id);
        const over = (stmt.finished.get() as number) - Math.max(0, retention.maxCount);
        if (over > 0) for (const r of stmt.oldest.all(over) as Array<{ id: string }>) drop(r.id);
        stmt.insert.run(
          run.id,
          run.owner,
          run.agentId,
          run.sessionId,
          ...stateParams(run, clock()),
          run.createdAt,
          run.replicaId,
        );
        append(run.id, events);
      }),
    update: (id, state, events) =>
      writes.run(() => {
        if (stmt.update.run(...stateParams(state, clock()), id).changes === 0) return false;
        append(id, events);
        return true;
      }),
    get: (id) =>
      writes.read(() => {
        const row = stmt.get.get(id) as RunRow | undefined;
        return row ? runFromRow(row) : undefined;
      }),
    events: (id, afterSeq, limit = 1000) =>
      writes.read(() =>
        (stmt.events.all(id, afterSeq, limit) as Array<{ seq: number; event: string; data: string }>).map(
          (r) => ({ seq: r.seq, event: r.event, data: JSON.parse(r.data) as Record<string, unknown> }),
        ),
      ),
    requestStop: (id) => writes.run(() => stmt.stop.run(id).changes > 0),
    stopRequested: (ids) =>
      writes.read(() => (ids.length === 0 ? [] : (stmt.stopped.all(JSON.stringify(ids)) as string[]))),
    unfinished: () => writes.read(() => stmt.unfinished.all() as Array<{ id: string; replicaId: string }>),
    activeOf: (owner) =>
      writes.read(() => stmt.activeOf.all(owner) as Array<{ id: string; replicaId: string }>),
    answer: (a) =>
      writes.run(
        () =>
          stmt.answer.run(a.approvalId, a.approved ? 1 : 0, a.by, a.reason ?? null, clock(), a.runId)
            .changes > 0,
      ),
    answers: (ids) =>
      writes.read(() =>
        ids.length === 0
          ? []
          : (
              stmt.answers.all(JSON.stringify(ids)) as Array<
                Omit<RunAnswer, "approved" | "reason"> & { approved: number; reason: string | null }
              >
            ).map((r) => answerFromRow(r)),
      ),
    takeAnswer: (runId, approvalId) =>
      writes.run(() => {
        stmt.take.run(runId, approvalId);
      }),
  };
}
