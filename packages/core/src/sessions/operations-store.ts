import type { Database } from "better-sqlite3";

/** One model call's usage, as recorded. */
export interface UsageRecord {
  at: number;
  agentId: string;
  userId?: string | undefined;
  keyId?: string | undefined;
  sessionId?: string | undefined;
  platform?: string | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number | undefined;
  costUsd: number;
}

/** Spend of one scope (`agent:main`, `user:api_server:ada`, `key:<id>`) in one window (`d:2026-12-01`, `m:2026-12`). */
export interface WindowTotal {
  tokens: number;
  costUsd: number;
}

export interface UsageQuery {
  agentId?: string;
  userId?: string;
  keyId?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Group rows by these columns (default agent, user, key). */
  groupBy?: ReadonlyArray<"agent" | "user" | "key" | "model" | "session">;
  limit?: number;
}

export interface UsageSummaryRow {
  agent?: string;
  user?: string | null;
  key?: string | null;
  model?: string | null;
  session?: string | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** Usage rows and budget-window totals in `state.db`. */
export interface UsageLedger {
  /** Record one call and add it to the day's total of every scope, in one transaction. */
  record(row: UsageRecord, scopes: readonly string[]): Promise<void>;
  /** The total of one scope in one window (zero when nothing was spent). */
  total(scope: string, window: string): Promise<WindowTotal>;
  summary(query?: UsageQuery): Promise<UsageSummaryRow[]>;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

/** The append-only audit log (triggers refuse UPDATE and DELETE). */
export interface AuditLog {
  /**
   * Append an entry. With `onceKey`, an entry with the same key is written only once (API key use per
   * day: `key-use:<id>:<day>`); returns false when it already existed.
   */
  append(entry: {
    actor: string;
    action: string;
    target?: string;
    detail?: unknown;
    at?: number;
    onceKey?: string;
  }): Promise<boolean>;
  list(options?: { since?: number; action?: string; limit?: number }): Promise<AuditEntry[]>;
}

/** Token buckets that survive a restart: the rate limits' state. */
export interface RateBuckets {
  /**
   * Take one token from `bucket` (capacity `capacity`, refilled at `perMs` tokens per ms). Returns 0 when
   * taken, else the ms until a token is available.
   */
  take(bucket: string, capacity: number, perMs: number, now: number): Promise<number>;
}

export interface StoreProbe {
  writable: boolean;
  latencyMs: number;
  error?: string;
}

const pad = (n: number) => String(n).padStart(2, "0");
let lastDay: { from: number; to: number; ids: { daily: string; monthly: string } } | undefined;

/** The window ids of an instant (UTC): `d:2026-12-01` and `m:2026-12`. */
export function windowIds(at: number): { daily: string; monthly: string } {
  if (lastDay && at >= lastDay.from && at < lastDay.to) return lastDay.ids;
  const d = new Date(at);
  const month = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
  const ids = { daily: `d:${month}-${pad(d.getUTCDate())}`, monthly: `m:${month}` };
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  lastDay = { from, to: from + 86_400_000, ids };
  return ids;
}

const GROUP_COLUMNS = {
  agent: "agent_id",
  user: "user_id",
  key: "key_id",
  model: "model",
  session: "session_id",
} as const;

/**
 * How long a window total read from the store is trusted. Spend recorded by this process updates the cached
 * totals at once; spend by another process sharing the store shows up within this time (a budget can be
 * overshot by at most that much of the other process's traffic).
 */
export const USAGE_TOTAL_TTL_MS = 2000;

export function createUsageLedger(db: Database, clock: () => number = Date.now): UsageLedger {
  const cache = new Map<string, { total: WindowTotal; at: number }>();
  const insert =
    db.prepare(`INSERT INTO usage_events (at, agent_id, user_id, key_id, session_id, platform, provider,
    model, input_tokens, output_tokens, cached_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const add = db.prepare(`INSERT INTO usage_totals (scope, window, tokens, cost_usd) VALUES (?, ?, ?, ?)
    ON CONFLICT(scope, window) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd`);
  const day = db.prepare(
    "SELECT tokens, cost_usd AS costUsd FROM usage_totals WHERE scope = ? AND window = ?",
  );
  // Only days are stored; a month is the sum of its days (at most 31 rows of the primary key).
  const month = db.prepare(`SELECT COALESCE(SUM(tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS costUsd
    FROM usage_totals WHERE scope = ? AND window >= ? AND window < ?`);
  const read = (scope: string, window: string): WindowTotal => {
    if (window.startsWith("m:")) {
      const m = window.slice(2);
      return month.get(scope, `d:${m}-`, `d:${m}-~`) as WindowTotal;
    }
    return (day.get(scope, window) as WindowTotal | undefined) ?? { tokens: 0, costUsd: 0 };
  };
  const bump = (key: string, tokens: number, costUsd: number) => {
    const hit = cache.get(key);
    if (hit) hit.total = { tokens: hit.total.tokens + tokens, costUsd: hit.total.costUsd + costUsd };
  };
  const write = (row: UsageRecord, scopes: readonly string[]) => {
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
    const tokens = row.inputTokens + row.outputTokens;
    const ids = windowIds(row.at);
    for (const s of scopes) {
      add.run(s, ids.daily, tokens, row.costUsd);
      bump(`${s}\u0000${ids.daily}`, tokens, row.costUsd);
      bump(`${s}\u0000${ids.monthly}`, tokens, row.costUsd);
    }
  };
  const record = db.transaction(write);
  return {
    // Inside the gateway's group commit already: no savepoint of its own.
    record: (row, scopes) => (db.inTransaction ? write(row, scopes) : record(row, scopes)),
    total(scope, window) {
      const key = `${scope}\u0000${window}`;
      const now = clock();
      const hit = cache.get(key);
      if (hit && now - hit.at < USAGE_TOTAL_TTL_MS) return hit.total;
      const t = read(scope, window);
      cache.set(key, { total: t, at: now });
      if (cache.size > 50_000) cache.delete(cache.keys().next().value!);
      return t;
    },
    summary(q = {}) {
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
    },
  };
}

export function createAuditLog(db: Database, clock: () => number): AuditLog {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO audit_log (at, actor, action, target, detail, once_key) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const list = db.prepare(`SELECT id, at, actor, action, target, detail FROM audit_log
    WHERE at >= @since AND (@action IS NULL OR action = @action) ORDER BY id DESC LIMIT @limit`);
  return {
    append(e) {
      const info = insert.run(
        e.at ?? clock(),
        e.actor,
        e.action,
        e.target ?? null,
        e.detail === undefined ? null : JSON.stringify(e.detail),
        e.onceKey ?? null,
      );
      return info.changes === 1;
    },
    list(o = {}) {
      const rows = list.all({
        since: o.since ?? 0,
        action: o.action ?? null,
        limit: o.limit ?? 200,
      }) as Array<Omit<AuditEntry, "detail"> & { detail: string | null }>;
      return rows.reverse().map((r) => ({ ...r, detail: r.detail === null ? null : JSON.parse(r.detail) }));
    },
  };
}

export function createRateBuckets(db: Database): RateBuckets {
  const get = db.prepare("SELECT tokens, updated_at AS updatedAt FROM rate_buckets WHERE bucket = ?");
  const put = db.prepare(
    "INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT(bucket) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
  );
  const take = db.transaction((bucket: string, capacity: number, perMs: number, now: number): number => {
    const row = get.get(bucket) as { tokens: number; updatedAt: number } | undefined;
    const elapsed = row ? Math.max(0, now - row.updatedAt) : 0;
    const tokens = row ? Math.min(capacity, row.tokens + elapsed * perMs) : capacity;
    if (tokens >= 1) {
      put.run(bucket, tokens - 1, now);
      return 0;
    }
    put.run(bucket, tokens, now);
    return Math.ceil((1 - tokens) / perMs);
  });
  return { take: (bucket, capacity, perMs, now) => take.immediate(bucket, capacity, perMs, now) };
}
