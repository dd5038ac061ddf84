import type { AuditLog, RateBuckets, UsageLedger } from "@switchboard/core";
import {
  type AuditEntry,
  createTotalsCache,
  type UsageSummaryRow,
  type WindowTotal,
  windowIds,
} from "@switchboard/core";
import { type Pool, timedWrite, transaction } from "./pool.ts";

const GROUP_COLUMNS = {
  agent: "agent_id",
  user: "user_id",
  key: "key_id",
  model: "model",
  session: "session_id",
} as const;

/** Usage rows and per-day totals; a month is the sum of its days, as in the SQLite store. */
export function usageLedger(pool: Pool, clock: () => number): UsageLedger {
  const cache = createTotalsCache();
  const read = async (scope: string, window: string): Promise<WindowTotal> => {
    if (window.startsWith("m:")) {
      const m = window.slice(2);
      const r = await pool.query<WindowTotal>(
        `SELECT COALESCE(SUM(tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS "costUsd"
         FROM usage_totals WHERE scope = $1 AND "window" >= $2 AND "window" < $3`,
        [scope, `d:${m}-`, `d:${m}-~`],
      );
      return r.rows[0]!;
    }
    const r = await pool.query<WindowTotal>(
      `SELECT tokens, cost_usd AS "costUsd" FROM usage_totals WHERE scope = $1 AND "window" = $2`,
      [scope, window],
    );
    return r.rows[0] ?? { tokens: 0, costUsd: 0 };
  };
  return {
    async record(row, scopes) {
      const tokens = row.inputTokens + row.outputTokens;
      const ids = windowIds(row.at);
      // One statement, so one round trip and atomic without BEGIN/COMMIT: the call's row and the totals it adds
      // to. The scopes are sorted, so two replicas adding to the same ones lock their rows in one order.
      await timedWrite(() =>
        pool.query(
          `WITH e AS (INSERT INTO usage_events (at, agent_id, user_id, key_id, session_id, platform, provider, model,
            input_tokens, output_tokens, cached_tokens, cost_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12))
           INSERT INTO usage_totals (scope, "window", tokens, cost_usd)
           SELECT s, $14, $15, $16 FROM unnest($13::text[]) AS s ORDER BY s
           ON CONFLICT (scope, "window") DO UPDATE SET tokens = usage_totals.tokens + excluded.tokens,
             cost_usd = usage_totals.cost_usd + excluded.cost_usd`,
          [
            row.at,
            row.agentId,
            row.userId ?? null,
            row.keyId ?? null,
            row.sessionId ?? null,
            row.platform ?? null,
            row.provider ?? null,
            row.model ?? null,
            row.inputTokens,
            row.outputTokens,
            row.cachedTokens ?? 0,
            row.costUsd,
            [...new Set(scopes)].sort(),
            ids.daily,
            tokens,
            row.costUsd,
          ],
        ),
      );
      for (const s of scopes) {
        cache.bump(s, ids.daily, tokens, row.costUsd);
        cache.bump(s, ids.monthly, tokens, row.costUsd);
      }
    },
    async total(scope, window) {
      const now = clock();
      const hit = cache.fresh(scope, window, now);
      if (hit) return hit;
      const t = await read(scope, window);
      cache.remember(scope, window, t, now);
      return t;
    },
    cached: (scope, window) => cache.fresh(scope, window, clock()),
    async summary(q = {}) {
      const groups = (q.groupBy ?? ["agent", "user", "key"]).map((g) => [g, GROUP_COLUMNS[g]] as const);
      const select = groups.map(([alias, col]) => `${col} AS "${alias}"`).join(", ");
      const sql = `SELECT ${select}${select ? ", " : ""}COUNT(*) AS calls, SUM(input_tokens) AS "inputTokens",
        SUM(output_tokens) AS "outputTokens", SUM(cached_tokens) AS "cachedTokens", SUM(cost_usd) AS "costUsd"
        FROM usage_events WHERE at >= $1 AND ($2::text IS NULL OR agent_id = $2)
        AND ($3::text IS NULL OR user_id = $3) AND ($4::text IS NULL OR key_id = $4)
        ${groups.length ? `GROUP BY ${groups.map(([, c]) => c).join(", ")}` : ""}
        ORDER BY "costUsd" DESC, SUM(input_tokens) + SUM(output_tokens) DESC LIMIT $5`;
      const r = await pool.query<UsageSummaryRow>(sql, [
        q.since ?? 0,
        q.agentId ?? null,
        q.userId ?? null,
        q.keyId ?? null,
        q.limit ?? 1000,
      ]);
      return r.rows.filter((row) => row.calls > 0);
    },
  };
}

export function auditLog(pool: Pool, clock: () => number): AuditLog {
  return {
    async append(e) {
      const r = await pool.query(
        `INSERT INTO audit_log (at, actor, action, target, detail, once_key) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING`,
        [
          e.at ?? clock(),
          e.actor,
          e.action,
          e.target ?? null,
          e.detail === undefined ? null : JSON.stringify(e.detail),
          e.onceKey ?? null,
        ],
      );
      return r.rowCount === 1;
    },
    async list(o = {}) {
      const r = await pool.query<Omit<AuditEntry, "detail"> & { detail: string | null }>(
        `SELECT id, at, actor, action, target, detail FROM audit_log
         WHERE at >= $1 AND ($2::text IS NULL OR action = $2) ORDER BY id DESC LIMIT $3`,
        [o.since ?? 0, o.action ?? null, o.limit ?? 200],
      );
      return r.rows
        .reverse()
        .map((row) => ({ ...row, detail: row.detail === null ? null : JSON.parse(row.detail) }));
    },
  };
}

/** Token buckets: the row is locked for the read-refill-take, so replicas share one bucket exactly. */
export function rateBuckets(pool: Pool): RateBuckets {
  return {
    take: (bucket, capacity, perMs, now) =>
      transaction(pool, async (q) => {
        await q.query(
          "INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (bucket) DO NOTHING",
          [bucket, capacity, now],
        );
        const row = (
          await q.query<{ tokens: number; updatedAt: number }>(
            `SELECT tokens, updated_at AS "updatedAt" FROM rate_buckets WHERE bucket = $1 FOR UPDATE`,
            [bucket],
          )
        ).rows[0]!;
        const elapsed = Math.max(0, now - row.updatedAt);
        const tokens = Math.min(capacity, row.tokens + elapsed * perMs);
        const taken = tokens >= 1;
        await q.query(
          "UPDATE rate_buckets SET tokens = $2, updated_at = GREATEST(updated_at, $3) WHERE bucket = $1",
          [bucket, taken ? tokens - 1 : tokens, now],
        );
        return taken ? 0 : Math.ceil((1 - tokens) / perMs);
      }),
  };
}
