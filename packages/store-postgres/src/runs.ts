import {
  answerFromRow,
  type RunRow,
  type RunTable,
  runFromRow,
  type StoredRunEvent,
  stateParams,
  TERMINAL_SQL as TERMINAL,
} from "@switchboard/core";
import type pg from "pg";
import { type Pool, type Queryable, transaction } from "./pool.ts";

/** The channel every write to a run notifies, its payload the run id: followers on other replicas wake at once. */
export const RUNS_CHANNEL = "switchboard_runs";

async function append(q: Queryable, id: string, events: readonly StoredRunEvent[]): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO run_events (run_id, seq, event, data)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`,
    [id, events.map((e) => e.seq), events.map((e) => e.event), events.map((e) => JSON.stringify(e.data))],
  );
}

const notify = (q: Queryable, id: string) => q.query("SELECT pg_notify($1, $2)", [RUNS_CHANNEL, id]);

/** The PostgreSQL run table, with `listen`: one connection LISTENing for run writes of every replica. */
export interface PostgresRunTable extends RunTable {
  listen(onChange: (runId: string) => void): () => void;
  /** Give the listening connection back (the store's close). */
  close(): Promise<void>;
}

export function runTable(pool: Pool, clock: () => number): PostgresRunTable {
  const listeners = new Set<(runId: string) => void>();
  let client: Promise<pg.PoolClient | undefined> | undefined;
  let closed = false;
  /** A dropped or refused listening connection: try again in a second while anyone listens. */
  const retry = () => {
    client = undefined;
    if (!closed && listeners.size > 0) setTimeout(() => void connect(), 1000).unref();
  };
  const connect = () => {
    client ??= (async () => {
      let c: pg.PoolClient | undefined;
      let given = false;
      const giveBack = (err?: Error) => {
        if (given || !c) return;
        given = true;
        c.release(err);
      };
      try {
        c = await pool.connect();
        const held = c;
        held.on("notification", (n) => {
          if (n.channel === RUNS_CHANNEL && n.payload) for (const l of listeners) l(n.payload);
        });
        // Followers keep polling meanwhile; the broken connection is not given back to the pool.
        held.on("error", (err) => {
          giveBack(err);
          retry();
        });
        await held.query(`LISTEN ${RUNS_CHANNEL}`);
        if (closed) {
          giveBack();
          return undefined;
        }
        return held;
      } catch (err) {
        giveBack(err as Error);
        retry();
        return undefined;
      }
    })();
    return client;
  };

  return {
    create: (run, events, retention) =>
      transaction(pool, async (q) => {
        await q.query(
          // Their events and answers go with them (ON DELETE CASCADE).
          `DELETE FROM runs WHERE status IN ${TERMINAL} AND completed_at < $1`,
          [clock() - retention.maxAgeMs],
        );
        await q.query(
          `DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE status IN ${TERMINAL}
             ORDER BY completed_at DESC, id DESC OFFSET $1)`,
          [Math.max(0, retention.maxCount)],
        );
        await q.query(
          `INSERT INTO runs (id, owner, agent_id, session_id, status, updated_at, completed_at, output, usage, error,
             pending_approvals, created_at, replica_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            run.id,
            run.owner,
            run.agentId,
            run.sessionId,
            ...stateParams(run, clock()),
            run.createdAt,
            run.replicaId,
          ],
        );
        await append(q, run.id, events);
        await notify(q, run.id);
      }),
    update: (id, state, events) =>
      transaction(pool, async (q) => {
        const r = await q.query(
          `UPDATE runs SET status = $1, updated_at = $2, completed_at = $3, output = $4, usage = $5, error = $6,
             pending_approvals = $7 WHERE id = $8 AND status NOT IN ${TERMINAL}`,
          [...stateParams(state, clock()), id],
        );
        if (r.rowCount !== 1) return false;
        await append(q, id, events);
        await notify(q, id);
        return true;
      }),
    async get(id) {
      const r = await pool.query<RunRow>(
        `SELECT id, owner, agent_id AS "agentId", session_id AS "sessionId", status, created_at AS "createdAt",
           completed_at AS "completedAt", output, usage, error, pending_approvals AS "pendingApprovals",
           replica_id AS "replicaId", stop_requested AS "stopRequested",
           (SELECT MAX(seq) FROM run_events WHERE run_id = runs.id) AS "lastSeq" FROM runs WHERE id = $1`,
        [id],
      );
      const row = r.rows[0];
      return row ? runFromRow(row) : undefined;
    },
    async events(id, afterSeq, limit = 1000) {
      const r = await pool.query<{ seq: number; event: string; data: string }>(
        "SELECT seq, event, data FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        [id, afterSeq, limit],
      );
      return r.rows.map((e) => ({
        seq: e.seq,
        event: e.event,
        data: JSON.parse(e.data) as Record<string, unknown>,
      }));
    },
    requestStop: (id) =>
      transaction(pool, async (q) => {
        const r = await q.query(
          `UPDATE runs SET stop_requested = true WHERE id = $1 AND status NOT IN ${TERMINAL}`,
          [id],
        );
        if (r.rowCount !== 1) return false;
        await notify(q, id);
        return true;
      }),
    async stopRequested(ids) {
      if (ids.length === 0) return [];
      const r = await pool.query<{ id: string }>(
        `SELECT id FROM runs WHERE stop_requested AND status NOT IN ${TERMINAL} AND id = ANY($1::text[])`,
        [ids],
      );
      return r.rows.map((x) => x.id);
    },
    async unfinished() {
      const r = await pool.query<{ id: string; replicaId: string }>(
        `SELECT id, replica_id AS "replicaId" FROM runs WHERE status NOT IN ${TERMINAL} ORDER BY created_at`,
      );
      return r.rows;
    },
    async activeOf(owner) {
      const r = await pool.query<{ id: string; replicaId: string }>(
        `SELECT id, replica_id AS "replicaId" FROM runs WHERE owner = $1 AND status NOT IN ${TERMINAL}`,
        [owner],
      );
      return r.rows;
    },
    answer: (a) =>
      transaction(pool, async (q) => {
        const r = await q.query(
          `INSERT INTO run_answers (run_id, approval_id, approved, answered_by, reason, at)
           SELECT id, $1, $2, $3, $4, $5 FROM runs WHERE id = $6 AND status NOT IN ${TERMINAL}
           ON CONFLICT (run_id, approval_id) DO NOTHING`,
          [a.approvalId, a.approved, a.by, a.reason ?? null, clock(), a.runId],
        );
        if (r.rowCount !== 1) return false;
        await notify(q, a.runId);
        return true;
      }),
    async answers(ids) {
      if (ids.length === 0) return [];
      const r = await pool.query<{
        runId: string;
        approvalId: string;
        approved: boolean;
        by: string;
        reason: string | null;
      }>(
        `SELECT run_id AS "runId", approval_id AS "approvalId", approved, answered_by AS "by", reason
         FROM run_answers WHERE NOT taken AND run_id = ANY($1::text[]) ORDER BY at`,
        [ids],
      );
      return r.rows.map(answerFromRow);
    },
    async takeAnswer(runId, approvalId) {
      await pool.query("UPDATE run_answers SET taken = true WHERE run_id = $1 AND approval_id = $2", [
        runId,
        approvalId,
      ]);
    },
    listen(onChange) {
      listeners.add(onChange);
      void connect();
      return () => listeners.delete(onChange);
    },
    async close() {
      closed = true;
      listeners.clear();
      const c = await client?.catch(() => undefined);
      client = undefined;
      if (c) {
        await c.query(`UNLISTEN ${RUNS_CHANNEL}`).catch(() => {});
        c.release();
      }
    },
  };
}
