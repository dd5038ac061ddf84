import type { Database } from "better-sqlite3";
import {
  type AuditEntry,
  type AuditLog,
  createTotalsCache,
  type RateBuckets,
  type UsageLedger,
  type UsageRecord,
  type UsageSummaryRow,
  type WindowTotal,
  windowIds,
} from "../operations-store.ts";
import type { WriteBatcher } from "./write-batch.ts";

const GROUP_COLUMNS = {
  agent: "agent_id",
  user: "user_id",
  key: "key_id",
  model: "model",
  session: "session_id",
} as const;

export function createUsageLedger(
  db: Database,
  writes: WriteBatcher,
  clock: () => number = Date.now,
): UsageLedger {
  const cache = createTotalsCache();
  const insert =
    db.prepare(`INSERT INTO usage_events (at, agent_id, user_id, key_id, session_id, platform, provider,
    model, input_tokens, output_tokens, cached_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const add = db.prepare(`INSERT INTO usage_totals (scope, window, tokens, cost_usd) VALUES (?, ?, ?, ?)
    ON CONFLICT(scope, window) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd`);
  const day = db.prepare(
    "SELECT tokens, cost_usd AS costUsd FROM usage_totals WHERE scope = ? AND window = ?",
  );
  // Only days are stored; a month is the sum of its days (at most 31 rows of the primary key). The month's
  // day rows come with that sum, so one read refreshes a day and its month (a budget checks both together).
  const days = db.prepare(`SELECT window, tokens, cost_usd AS costUsd, SUM(tokens) OVER () AS monthTokens,
    SUM(cost_usd) OVER () AS monthCostUsd FROM usage_totals WHERE scope = ? AND window >= ? AND window < ?`);
  /** Read `window` of `scope` into the cache; a day and its month (today's, for a month) come from one read. */
  const refresh = (scope: string, window: string, now: number): WindowTotal => {
    const isMonth = window.startsWith("m:");
    if (!isMonth && !window.startsWith("d:")) {
      const t = (day.get(scope, window) as WindowTotal | undefined) ?? { tokens: 0, costUsd: 0 };
      cache.remember(scope, window, t, now);
      return t;
    }
    const m = isMonth ? window.slice(2) : window.slice(2, 9);
    const daily = isMonth ? windowIds(now).daily : window;
    const rows = days.all(scope, `d:${m}-`, `d:${m}-~`) as Array<
      WindowTotal & { window: string; monthTokens: number; monthCostUsd: number }
    >;
    const first = rows[0];
    const monthTotal: WindowTotal = first
      ? { tokens: first.monthTokens, costUsd: first.monthCostUsd }
      : { tokens: 0, costUsd: 0 };
    cache.remember(scope, `m:${m}`, monthTotal, now);
    let dayTotal: WindowTotal = { tokens: 0, costUsd: 0 };
    if (daily.startsWith(`d:${m}-`)) {
      const r = rows.find((x) => x.window === daily);
      if (r) dayTotal = { tokens: r.tokens, costUsd: r.costUsd };
      cache.remember(scope, daily, dayTotal, now);
    }
    return isMonth ? monthTotal : dayTotal;
  };
  const insertRow = (row: UsageRecord) =>
    insert.run(
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
    );
  // The calls recorded for the next group commit, written by one write of that commit: their rows, and
  // each (scope, day) total added to once with their sum (a busy agent's day row is updated once per
  // commit, not once per call). One write, so the rows and the totals commit or fail together.
  interface Add {
    scope: string;
    daily: string;
    monthly: string;
    tokens: number;
    costUsd: number;
  }
  // By scope for the batch's day (no key to build); `<scope>\0<day>` for a call of another day (midnight).
  let next: { day: string; rows: UsageRecord[]; adds: Map<string, Add>; done: Promise<void> } | undefined;
  const writeBatch = (batch: NonNullable<typeof next>) => {
    if (next === batch) next = undefined;
    for (const row of batch.rows) insertRow(row);
    for (const a of batch.adds.values()) {
      add.run(a.scope, a.daily, a.tokens, a.costUsd);
      cache.bump(a.scope, a.daily, a.tokens, a.costUsd);
      cache.bump(a.scope, a.monthly, a.tokens, a.costUsd);
    }
  };
  const record = (row: UsageRecord, scopes: readonly string[]): Promise<void> => {
    const ids = windowIds(row.at);
    let batch = next;
    if (!batch) {
      const b = {
        day: ids.daily,
        rows: [] as UsageRecord[],
        adds: new Map<string, Add>(),
        done: Promise.resolve(),
      };
      b.done = writes.run(() => writeBatch(b));
      // A commit that failed before this write ran (a busy database) must not leave later calls joining it.
      const forget = () => {
        if (next === b) next = undefined;
      };
      b.done.then(forget, forget);
      next = batch = b;
    }
    batch.rows.push(row);
    const tokens = row.inputTokens + row.outputTokens;
    const sameDay = ids.daily === batch.day;
    for (const scope of scopes) {
      const key = sameDay ? scope : `${scope}\u0000${ids.daily}`;
      const a = batch.adds.get(key);
      if (a) {
        a.tokens += tokens;
        a.costUsd += row.costUsd;
      } else
        batch.adds.set(key, { scope, daily: ids.daily, monthly: ids.monthly, tokens, costUsd: row.costUsd });
    }
    return batch.done;
  };
  const total = (scope: string, window: string) => {
    const now = clock();
    return cache.fresh(scope, window, now) ?? refresh(scope, window, now);
  };
  return {
    record,
    total: (scope, window) => writes.read(() => total(scope, window)),
    cached: (scope, window) => cache.fresh(scope, window, clock()),
    summary: (q = {}) =>
      writes.read(() => {
        const groups = (q.groupBy ?? ["agent", "user", "key"]).map((g) => [g, GROUP_COLUMNS[g]] as const);
        const select = groups.map(([alias, col]) => `${col} AS "${alias}"`).join(", ");
        const sql = `SELECT ${select}${select ? ", " : ""}COUNT(*) AS calls, SUM(input_tokens) AS inputTokens,
        SUM(output_tokens) AS outputTokens, SUM(cached_tokens) AS cachedTokens, SUM(cost_usd) AS costUsd
        FROM usage_events WHERE at >= @since AND (@agent IS NULL OR agent_id = @agent)
        AND (@user IS NULL OR user_id = @user) AND (@key IS NULL OR key_id = @key)
        ${groups.length ? `GROUP BY ${groups.map(([, c]) => c).join(", ")}` : ""}
        ORDER BY costUsd DESC, inputTokens + outputTokens DESC LIMIT @limit`;
        const rows = db.prepare(sql).all({
          since: q.since ?? 0,
          agent: q.agentId ?? null,
          user: q.userId ?? null,
          key: q.keyId ?? null,
          limit: q.limit ?? 1000,
        }) as UsageSummaryRow[];
        return rows.filter((r) => r.calls > 0);
      }),
  };
}

export function createAuditLog(db: Database, writes: WriteBatcher, clock: () => number): AuditLog {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO audit_log (at, actor, action, target, detail, once_key) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const list = db.prepare(`SELECT id, at, actor, action, target, detail FROM audit_log
    WHERE at >= @since AND (@action IS NULL OR action = @action) ORDER BY id DESC LIMIT @limit`);
  return {
    append: (e) =>
      writes.run(() => {
        const info = insert.run(
          e.at ?? clock(),
          e.actor,
          e.action,
          e.target ?? null,
          e.detail === undefined ? null : JSON.stringify(e.detail),
          e.onceKey ?? null,
        );
        return info.changes === 1;
      }),
    list: (o = {}) =>
      writes.read(() => {
        const rows = list.all({
          since: o.since ?? 0,
          action: o.action ?? null,
          limit: o.limit ?? 200,
        }) as Array<Omit<AuditEntry, "detail"> & { detail: string | null }>;
        return rows.reverse().map((r) => ({ ...r, detail: r.detail === null ? null : JSON.parse(r.detail) }));
      }),
  };
}

export function createRateBuckets(db: Database, writes: WriteBatcher): RateBuckets {
  const get = db.prepare("SELECT tokens, updated_at AS updatedAt FROM rate_buckets WHERE bucket = ?");
  const put = db.prepare(
    "INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT(bucket) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
  );
  const take = (bucket: string, capacity: number, perMs: number, now: number): number => {
    const row = get.get(bucket) as { tokens: number; updatedAt: number } | undefined;
    const elapsed = row ? Math.max(0, now - row.updatedAt) : 0;
    const tokens = row ? Math.min(capacity, row.tokens + elapsed * perMs) : capacity;
    if (tokens >= 1) {
      put.run(bucket, tokens - 1, now);
      return 0;
    }
    put.run(bucket, tokens, now);
    return Math.ceil((1 - tokens) / perMs);
  };
  return { take: (bucket, capacity, perMs, now) => writes.run(() => take(bucket, capacity, perMs, now)) };
}
