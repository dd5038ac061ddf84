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

/** One limit of a scope's budget: a party's are listed once (`budgetLimits`) and checked on every turn. */
export interface BudgetLimit {
  scope: BudgetScope;
  window: BudgetWindow;
  limit: SpendLimit;
}

/** Every limit the scopes' budgets set, in order (scopes without a budget set none). */
export function budgetLimits(scopes: readonly BudgetScope[]): BudgetLimit[] {
  const out: BudgetLimit[] = [];
  for (const scope of scopes)
    for (const window of WINDOWS) {
      const limit = scope.budget?.[window];
      if (limit) out.push({ scope, window, limit });
    }
  return out;
}

export interface Exhausted extends BudgetLimit {
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
  readonly #limits: readonly BudgetLimit[];
  /** The total of each limit's window, by the limit's index. */
  readonly #totals: WindowTotal[];

  private constructor(limits: readonly BudgetLimit[]) {
    this.#limits = limits;
    this.#totals = new Array(limits.length);
  }

  /**
   * The totals of `limits` (a party's `budgetLimits`) in the ledger at `at` (no read at all when there are
   * none). A snapshot the ledger's cache can answer is returned at once, without a promise (the per-message
   * path).
   */
  static load(
    ledger: UsageLedger,
    limits: readonly BudgetLimit[],
    at: number,
  ): BudgetSnapshot | Promise<BudgetSnapshot> {
    const snapshot = new BudgetSnapshot(limits);
    if (limits.length === 0) return snapshot;
    const ids = windowIds(at);
    const totals = snapshot.#totals;
    let missing: number[] | undefined;
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i]!;
      const total = ledger.cached?.(l.scope.id, ids[l.window]);
      if (total) totals[i] = total;
      else {
        totals[i] = ZERO;
        (missing ??= []).push(i);
      }
    }
    if (!missing) return snapshot;
    const need = missing;
    // Asked all at once: one wait for every total, not one per scope and window.
    return Promise.all(need.map((i) => ledger.total(limits[i]!.scope.id, ids[limits[i]!.window]))).then(
      (read) => {
        for (let j = 0; j < read.length; j++) totals[need[j]!] = read[j]!;
        return snapshot;
      },
    );
  }

  get empty(): boolean {
    return this.#limits.length === 0;
  }

  /** The first budget used up once `extra` is added (nothing added: before the turn). */
  exhausted(extra?: WindowTotal): Exhausted | undefined {
    const addTokens = extra?.tokens ?? 0;
    const addUsd = extra?.costUsd ?? 0;
    for (let i = 0; i < this.#limits.length; i++) {
      const l = this.#limits[i]!;
      const tokens = this.#totals[i]!.tokens + addTokens;
      const costUsd = this.#totals[i]!.costUsd + addUsd;
      if (fractionOf(tokens, costUsd, l.limit) >= 1) return { ...l, total: { tokens, costUsd } };
    }
    return undefined;
  }

  /** Each budget with the fraction used before and after `extra` (called back: nothing is allocated per budget). */
  fractions(
    extra: WindowTotal,
    each: (scope: BudgetScope, window: BudgetWindow, before: number, after: number) => void,
  ): void {
    for (let i = 0; i < this.#limits.length; i++) {
      const l = this.#limits[i]!;
      const t = this.#totals[i]!;
      each(
        l.scope,
        l.window,
        fractionOf(t.tokens, t.costUsd, l.limit),
        fractionOf(t.tokens + extra.tokens, t.costUsd + extra.costUsd, l.limit),
      );
    }
  }
}
