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
  /**
   * The total `total` would answer without reading the store: one read less than `USAGE_TOTAL_TTL_MS` ago
   * plus this process's own spend since; `undefined` when it has to read. Budget checks ask this first.
   */
  cached?(scope: string, window: string): WindowTotal | undefined;
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

/**
 * How long a window total read from the store is trusted. Spend recorded by this process updates the cached
 * totals at once; spend by another process sharing the store (a second gateway on the SQLite file, another
 * replica on PostgreSQL) shows up within this time, so a budget can be overshot by at most what the other
 * processes spend in this long (plus the turns already running). docs/operations.md states the bound.
 */
export const USAGE_TOTAL_TTL_MS = 2000;

/**
 * The window totals a ledger has read (each trusted for `USAGE_TOTAL_TTL_MS`) with this process's own spend
 * added as it commits. By scope, then window: the ids are the strings the callers already hold, so a
 * lookup builds no key. A ledger that can tell whether anyone else has written since a read (`version`:
 * SQLite's `PRAGMA data_version`) passes it, and an older total that nobody else can have changed is
 * trusted again for `USAGE_TOTAL_TTL_MS` without being read.
 */
export function createTotalsCache(max = 50_000, version?: () => number) {
  const scopes = new Map<string, Map<string, { total: WindowTotal; at: number; version: number }>>();
  return {
    /** The total when it was read less than `USAGE_TOTAL_TTL_MS` before `now` (or nobody else wrote since). */
    fresh(scope: string, window: string, now: number): WindowTotal | undefined {
      const hit = scopes.get(scope)?.get(window);
      if (!hit) return undefined;
      if (now - hit.at < USAGE_TOTAL_TTL_MS) return hit.total;
      if (!version || version() !== hit.version) return undefined;
      hit.at = now;
      return hit.total;
    },
    /** The version to pass to `remember`: taken before the read, so a write that races the read forces a new one. */
    version: () => version?.() ?? 0,
    remember(scope: string, window: string, total: WindowTotal, at: number, readVersion = 0): void {
      let windows = scopes.get(scope);
      if (!windows) {
        if (scopes.size >= max) scopes.delete(scopes.keys().next().value!);
        windows = new Map();
        scopes.set(scope, windows);
      }
      windows.set(window, { total, at, version: readVersion });
      // A long-running process moves on to new days: only the latest few windows are kept.
      if (windows.size > 8) windows.delete(windows.keys().next().value!);
    },
    /** Add spend this process committed (a new object: snapshots taken earlier keep what they saw). */
    bump(scope: string, window: string, tokens: number, costUsd: number): void {
      const hit = scopes.get(scope)?.get(window);
      if (hit) hit.total = { tokens: hit.total.tokens + tokens, costUsd: hit.total.costUsd + costUsd };
    },
  };
}
