import type { BudgetConfig, SpendLimit } from "../config/schema.ts";
import { type UsageLedger, type WindowTotal, windowIds } from "../sessions/operations-store.ts";

export type BudgetWindow = "daily" | "monthly";
export type ScopeKind = "agent" | "user" | "key";

/** Who a turn is spent by: the agent, the user (platform user or API `user`) and the API key. */
export interface SpendParty {
  agentId: string;
  platform: string;
  userId?: string | undefined;
  keyId?: string | undefined;
  /** The key's own `budget`, when it has one. */
  keyBudget?: BudgetConfig | undefined;
}

/** One scope of a party and the budget that applies to it. */
export interface BudgetScope {
  kind: ScopeKind;
  /** The store's scope id: `agent:<id>`, `user:<platform>:<id>`, `key:<id>`. */
  id: string;
  /** How it is named to a person. */
  label: string;
  budget: BudgetConfig | undefined;
}

export { windowIds };

const WINDOWS = ["daily", "monthly"] as const;
const ZERO: WindowTotal = Object.freeze({ tokens: 0, costUsd: 0 });

/** When a window that contains `at` ends (UTC midnight, first of next month). */
export function windowEnd(window: BudgetWindow, at: number): Date {
  const d = new Date(at);
  return window === "daily"
    ? new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1))
    : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

export function scopesOf(
  party: SpendParty,
  budgets: { agent?: BudgetConfig | undefined; perUser?: BudgetConfig | undefined },
): BudgetScope[] {
  const out: BudgetScope[] = [
    { kind: "agent", id: `agent:${party.agentId}`, label: `agent "${party.agentId}"`, budget: budgets.agent },
  ];
  if (party.userId)
    out.push({
      kind: "user",
      id: `user:${party.platform}:${party.userId}`,
      label: "your",
      budget: budgets.perUser,
    });
  if (party.keyId)
    out.push({ kind: "key", id: `key:${party.keyId}`, label: "this API key's", budget: party.keyBudget });
  return out;
}

/** The fraction of `limit` that `total` has used (the larger of tokens and currency). */
export function usedFraction(total: WindowTotal, limit: SpendLimit): number {
  return fractionOf(total.tokens, total.costUsd, limit);
}

function fractionOf(tokens: number, costUsd: number, limit: SpendLimit): number {
  let f = 0;
  if (limit.tokens) f = Math.max(f, tokens / limit.tokens);
  if (limit.usd) f = Math.max(f, costUsd / limit.usd);
  return f;
}

export interface Exhausted {
  scope: BudgetScope;
  window: BudgetWindow;
  limit: SpendLimit;
  total: WindowTotal;
}

function describeLimit(limit: SpendLimit): string {
  const parts: string[] = [];
  if (limit.tokens) parts.push(`${limit.tokens.toLocaleString("en-US")} tokens`);
  if (limit.usd) parts.push(`$${limit.usd.toFixed(2)}`);
  return parts.join(" / ");
}

/** The message for a used-up budget, shown in chat and in the API's 429. */
export function exhaustedMessage(e: Exhausted, at: number): string {
  const whose =
    e.scope.kind === "agent"
      ? `The ${e.window} budget of ${e.scope.label}`
      : `${e.scope.label === "your" ? "Your" : "This API key's"} ${e.window} budget`;
  const resets = windowEnd(e.window, at).toISOString().replace(".000Z", "Z");
  return `${whose} (${describeLimit(e.limit)}) is used up; it resets at ${resets}.`;
}

/**
 * The budgets of a party with the totals they had at one instant: checked before a turn, and again with
 * the turn's own usage added after each step of a tool loop.
 */
export class BudgetSnapshot {
  readonly #entries: Array<{
    scope: BudgetScope;
    window: BudgetWindow;
    limit: SpendLimit;
    total: WindowTotal;
  }> = [];

  /**
   * The budgets of `scopes` with the ledger's totals at `at` (no read at all when no scope has a budget). A
   * snapshot the ledger's cache can answer is returned at once, without a promise (the per-message path).
   */
  static load(
    ledger: UsageLedger,
    scopes: readonly BudgetScope[],
    at: number,
  ): BudgetSnapshot | Promise<BudgetSnapshot> {
    const snapshot = new BudgetSnapshot();
    let ids: ReturnType<typeof windowIds> | undefined;
    let missing: number[] | undefined;
    for (const scope of scopes) {
      if (!scope.budget) continue;
      ids ??= windowIds(at);
      for (const window of WINDOWS) {
        const limit = scope.budget[window];
        if (!limit) continue;
        const total = ledger.cached?.(scope.id, ids[window]);
        if (!total) (missing ??= []).push(snapshot.#entries.length);
        snapshot.#entries.push({ scope, window, limit, total: total ?? ZERO });
      }
    }
    if (!missing || !ids) return snapshot;
    const windows = ids;
    const need = missing;
    // Asked all at once: one wait for every total, not one per scope and window.
    const entries = snapshot.#entries;
    return Promise.all(need.map((i) => ledger.total(entries[i]!.scope.id, windows[entries[i]!.window]))).then(
      (read) => {
        for (let j = 0; j < read.length; j++) entries[need[j]!]!.total = read[j]!;
        return snapshot;
      },
    );
  }

  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /** The first budget used up once `extra` is added (nothing added: before the turn). */
  exhausted(extra?: WindowTotal): Exhausted | undefined {
    const addTokens = extra?.tokens ?? 0;
    const addUsd = extra?.costUsd ?? 0;
    for (const e of this.#entries) {
      const tokens = e.total.tokens + addTokens;
      const costUsd = e.total.costUsd + addUsd;
      if (fractionOf(tokens, costUsd, e.limit) >= 1) return { ...e, total: { tokens, costUsd } };
    }
    return undefined;
  }

  /** Each budget with the fraction used before and after `extra` (called back: nothing is allocated per budget). */
  fractions(
    extra: WindowTotal,
    each: (scope: BudgetScope, window: BudgetWindow, before: number, after: number) => void,
  ): void {
    for (const e of this.#entries)
      each(
        e.scope,
        e.window,
        fractionOf(e.total.tokens, e.total.costUsd, e.limit),
        fractionOf(e.total.tokens + extra.tokens, e.total.costUsd + extra.costUsd, e.limit),
      );
  }
}
