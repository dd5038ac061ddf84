import type { Database } from "better-sqlite3";
import { USAGE_FOLD_KEY } from "../migrations.ts";
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

/** Calls recorded since the last fold, past which the next commit folds them (else every `FOLD_INTERVAL_MS`). */
const FOLD_AFTER_CALLS = 2048;
const FOLD_INTERVAL_MS = 1000;
/** The window id of an event's `at`, as `windowIds` names its day (UTC). */
const DAY_OF_AT = "'d:' || strftime('%Y-%m-%d', e.at / 1000, 'unixepoch')";

/**
 * The usage ledger on SQLite. A call's commit stores only its row (with the scopes it counts for); the
 * per-scope day totals are folded from the rows in batches: by the commit after `FOLD_AFTER_CALLS` calls, at
 * most `FOLD_INTERVAL_MS` later, and when the store closes or opens. `kv` holds the last row folded, and a
 * fold moves rows past it into the totals in one write transaction, so any process on the file may fold
 * anyone's rows, and a process killed before its fold leaves rows the next one folds. A total read from the
 * store is its folded rows plus the rows past the watermark, read together: it is exact at any moment.
 */
export function createUsageLedger(
  db: Database,
  writes: WriteBatcher,
  clock: () => number = Date.now,
): UsageLedger & { fold(): void; close(): void } {
  // Another connection's commit (a second gateway, a CLI command, a fold elsewhere) changes
  // `PRAGMA data_version`; this connection's own do not, and its spend reaches the cache as it commits. So a
  // total past its time is read again only when someone else has written since it was read.
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  const cache = createTotalsCache(undefined, () => dataVersion.get() as number);
  const insert =
    db.prepare(`INSERT INTO usage_events (at, agent_id, user_id, key_id, session_id, platform, provider,
    model, input_tokens, output_tokens, cached_tokens, cost_usd, scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const folded = db
    .prepare(`SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = '${USAGE_FOLD_KEY}'), 0)`)
    .pluck();
  const lastRow = db.prepare("SELECT COALESCE(MAX(id), 0) FROM usage_events").pluck();
  const setFolded = db.prepare(`INSERT OR REPLACE INTO kv (key, value) VALUES ('${USAGE_FOLD_KEY}', ?)`);
  // (`WHERE true`: an upsert's SELECT needs a WHERE clause, or SQLite reads ON CONFLICT as a join's ON.)
  const foldRows =
    db.prepare(`INSERT INTO usage_totals (scope, window, tokens, cost_usd) SELECT * FROM (SELECT s.value,
    ${DAY_OF_AT}, SUM(e.input_tokens + e.output_tokens), SUM(e.cost_usd) FROM usage_events e, json_each(e.scopes) s
    WHERE e.id > ? AND e.id <= ? GROUP BY 1, 2) WHERE true
    ON CONFLICT(scope, window) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd`);
  const day = db.prepare(
    "SELECT tokens, cost_usd AS costUsd FROM usage_totals WHERE scope = ? AND window = ?",
  );
  // Only days are stored; a month is the sum of its days (at most 31 rows of the primary key). The month's
  // day rows come with that sum, so one read refreshes a day and its month (a budget checks both together).
  const days = db.prepare(`SELECT window, tokens, cost_usd AS costUsd FROM usage_totals
    WHERE scope = ? AND window >= ? AND window < ?`);
  // The rows not folded yet, by scope and day: those past `seen` are read and added to `tail`, which holds
  // the sums of the rows in (`tailFrom`, `seen`]; a fold (here or by another process) starts it over. So a
  // refresh reads each unfolded row once, however many scopes it refreshes.
  const unfolded = db.prepare(`SELECT s.value AS scope, ${DAY_OF_AT} AS window, e.id AS id,
    e.input_tokens + e.output_tokens AS tokens, e.cost_usd AS costUsd FROM usage_events e, json_each(e.scopes) s
    WHERE e.id > ? ORDER BY e.id`);
  let tailFrom = -1;
  let seen = -1;
  let tail = new Map<string, Map<string, WindowTotal>>();
  const catchUp = () => {
    const mark = folded.get() as number;
    if (mark !== tailFrom || seen < mark) {
      tailFrom = seen = mark;
      tail = new Map();
    }
    for (const r of unfolded.iterate(seen) as IterableIterator<
      WindowTotal & { scope: string; window: string; id: number }
    >) {
      let windows = tail.get(r.scope);
      if (!windows) tail.set(r.scope, (windows = new Map()));
      const t = windows.get(r.window);
      if (t) {
        t.tokens += r.tokens;
        t.costUsd += r.costUsd;
      } else windows.set(r.window, { tokens: r.tokens, costUsd: r.costUsd });
      seen = r.id;
    }
  };
  /** The day totals of `scope` in `month` (`2026-12`): folded, plus the rows past the watermark. */
  const readMonth = db.transaction((scope: string, month: string) => {
    const out = new Map<string, WindowTotal>();
    for (const r of days.all(scope, `d:${month}-`, `d:${month}-~`) as Array<WindowTotal & { window: string }>)
      out.set(r.window, { tokens: r.tokens, costUsd: r.costUsd });
    catchUp();
    for (const [window, r] of tail.get(scope) ?? []) {
      if (!window.startsWith(`d:${month}-`)) continue;
      const t = out.get(window);
      out.set(window, { tokens: (t?.tokens ?? 0) + r.tokens, costUsd: (t?.costUsd ?? 0) + r.costUsd });
    }
    return out;
  });
  /** Read `window` of `scope` into the cache; a day and its month (today's, for a month) come from one read. */
  const refresh = (scope: string, window: string, now: number): WindowTotal => {
    const version = cache.version();
    const isMonth = window.startsWith("m:");
    if (!isMonth && !window.startsWith("d:")) {
      const t = (day.get(scope, window) as WindowTotal | undefined) ?? { tokens: 0, costUsd: 0 };
      cache.remember(scope, window, t, now, version);
      return t;
    }
    const m = isMonth ? window.slice(2) : window.slice(2, 9);
    const daily = isMonth ? windowIds(now).daily : window;
    const byDay = readMonth(scope, m);
    const monthTotal: WindowTotal = { tokens: 0, costUsd: 0 };
    for (const t of byDay.values()) {
      monthTotal.tokens += t.tokens;
      monthTotal.costUsd += t.costUsd;
    }
    cache.remember(scope, `m:${m}`, monthTotal, now, version);
    let dayTotal: WindowTotal = { tokens: 0, costUsd: 0 };
    if (daily.startsWith(`d:${m}-`)) {
      dayTotal = byDay.get(daily) ?? dayTotal;
      cache.remember(scope, daily, dayTotal, now, version);
    }
    return isMonth ? monthTotal : dayTotal;
  };
  const insertRow = (row: UsageRecord, scopes: readonly string[]) =>
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
      JSON.stringify(scopes),
    );

  /** Fold every row past the watermark into the totals (inside a write transaction). */
  const foldPending = () => {
    const from = folded.get() as number;
    const to = lastRow.get() as number;
    if (to <= from) return;
    foldRows.run(from, to);
    setFolded.run(to);
  };
  let sinceFold = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  /** A fold is under way: no later one is due. */
  const folding = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    sinceFold = 0;
  };
  const foldSoon = () => {
    folding();
    writes.run(foldPending, { guarded: false }).catch(() => {
      // A busy or failing database: the rows stay past the watermark (reads count them) for the next fold.
    });
  };

  // The calls recorded for the next group commit, written by one write of that commit. Each (scope, day) is
  // added to this process's cached totals once with their sum when the commit is durable.
  interface Add {
    scope: string;
    daily: string;
    monthly: string;
    tokens: number;
    costUsd: number;
  }
  // By scope for the batch's day (no key to build); `<scope>\0<day>` for a call of another day (midnight).
  let next:
    | {
        day: string;
        rows: Array<{ row: UsageRecord; scopes: readonly string[] }>;
        adds: Map<string, Add>;
        done: Promise<void>;
      }
    | undefined;
  const writeBatch = (batch: NonNullable<typeof next>) => {
    if (next === batch) next = undefined;
    for (const r of batch.rows) insertRow(r.row, r.scopes);
    if ((sinceFold += batch.rows.length) >= FOLD_AFTER_CALLS) {
      foldPending();
      folding();
    } else if (!timer && !closed) {
      timer = setTimeout(foldSoon, FOLD_INTERVAL_MS);
      timer.unref?.();
    }
    // This process's cached totals take the spend once it is durable (not if the commit fails).
    writes.afterCommit(() => {
      for (const a of batch.adds.values()) {
        cache.bump(a.scope, a.daily, a.tokens, a.costUsd);
        cache.bump(a.scope, a.monthly, a.tokens, a.costUsd);
      }
    });
  };
  const record = (row: UsageRecord, scopes: readonly string[]): Promise<void> => {
    const ids = windowIds(row.at);
    let batch = next;
    if (!batch) {
      const b: NonNullable<typeof next> = {
        day: ids.daily,
        rows: [],
        adds: new Map<string, Add>(),
        done: Promise.resolve(),
      };
      // Inserts with no constraint to break: no savepoint of their own (see WriteBatcher.run).
      b.done = writes.run(() => writeBatch(b), { guarded: false });
      // A commit that failed before this write ran (a busy database) must not leave later calls joining it.
      const forget = () => {
        if (next === b) next = undefined;
      };
      b.done.then(forget, forget);
      next = batch = b;
    }
    batch.rows.push({ row, scopes });
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
    fold: () => {
      folding();
      db.transaction(foldPending).immediate();
    },
    close: () => {
      closed = true;
      folding();
    },
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
