import type { GatewayConfig } from "../config/load.ts";
import type { ModelPrice } from "../config/schema.ts";
import { AgentError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { AdapterStartResult, PlatformAdapter } from "../platform.ts";
import type { Usage } from "../runner.ts";
import type { SessionStore } from "../sessions/store-types.ts";
import { type AdapterState, listening, publish } from "../telemetry/facts.ts";
import {
  type BudgetLimit,
  type BudgetScope,
  BudgetSnapshot,
  budgetLimits,
  exhaustedMessage,
  type SpendParty,
  scopesOf,
  usedFraction,
  windowIds,
} from "./budgets.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import { costOf, priceOf } from "./pricing.ts";
import { RateLimiter, type RateSubject } from "./rate-limits.ts";

/** A turn refused before it started: a used-up budget or a rate limit. */
export class TurnRefusedError extends AgentError {
  override readonly name = "TurnRefusedError";
  readonly kind: "budget" | "rate" | "concurrency";
  /** When a retry may succeed; `undefined` for a budget (retrying will not help until the window ends). */
  readonly retryAfterMs: number | undefined;

  constructor(kind: "budget" | "rate" | "concurrency", message: string, retryAfterMs?: number) {
    super(kind === "budget" ? "budget_exceeded" : "rate_limit_exceeded", message);
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A turn let through: release it when it ends; `spendLimit` stops its tool loop at the budget. */
export interface Admission {
  party: SpendParty;
  release(): void;
  spendLimit?: (used: Usage) => string | undefined;
  /** The budgets and their totals at admission (the threshold warning compares against them). */
  snapshot?: BudgetSnapshot;
}

export interface AdapterHealth {
  platform: string;
  account: string;
  state: AdapterState;
  reason?: string;
  since: number;
  /** Sends refused by the open breaker until this time (ISO). */
  retryAt?: string;
  /** Times the account came back (`reconnecting` → `connected`) since it started; absent until the first. */
  reconnects?: number;
}

export interface CronStatus {
  enabled: boolean;
  running: boolean;
  holder?: string;
  lastTickAt?: number;
}

/** One MCP server of an agent as `/health/ready` lists it (`not started` until a turn needs it). */
export interface McpReadiness {
  state: string;
  tools?: number;
  error?: string;
}

export interface OperationsOptions {
  config: () => GatewayConfig;
  store: SessionStore;
  logger: Logger;
  now?: () => number;
  /** Record usage and check budgets (default true; off only to measure their cost in `pnpm bench`). */
  accounting?: boolean;
  /** Send a budget warning to the admin chat (`budgets.notify`). */
  notify?: (target: { platform: string; account: string; chatId: string }, text: string) => Promise<void>;
}

/** A party's budget scopes, their ids as the store names them, and the limits their budgets set. */
interface PartyScopes {
  scopes: readonly BudgetScope[];
  ids: readonly string[];
  limits: readonly BudgetLimit[];
}

/** How an agent's usage is recorded: the provider kind, the model and its price. */
interface AgentAccounting {
  provider: string;
  model: string;
  price: ModelPrice | undefined;
}

const adapterKey = (platform: string, account: string) => `${platform}/${account}`;

/** Usage accounting, budgets, rate limits, adapter health and the breaker: what the gateway consults per turn and send. */
export class Operations {
  readonly #o: OperationsOptions;
  readonly #now: () => number;
  readonly #rates: RateLimiter;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #adapters = new Map<string, AdapterHealth>();
  #cron: () => CronStatus | undefined = () => undefined;
  #mcp: () => Record<string, Record<string, McpReadiness>> = () => ({});

  constructor(options: OperationsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#rates = new RateLimiter(options.store.rates);
  }

  get store(): SessionStore {
    return this.#o.store;
  }

  /** What accounting looks up per message, kept until the config changes (a reload brings a new one). */
  #memo: {
    config: GatewayConfig | undefined;
    size: number;
    /** By agent, platform, then user (and key): the party's scopes and their store ids. */
    parties: Map<string, Map<string, Map<string, PartyScopes>>>;
    agents: Map<string, AgentAccounting>;
  } = { config: undefined, size: 0, parties: new Map(), agents: new Map() };

  #current(): GatewayConfig {
    const config = this.#o.config();
    const m = this.#memo;
    if (m.config !== config || m.size >= 10_000) {
      m.config = config;
      m.size = 0;
      m.parties.clear();
      m.agents.clear();
    }
    return config;
  }

  #budgets(party: SpendParty): PartyScopes {
    const config = this.#current();
    let byPlatform = this.#memo.parties.get(party.agentId);
    if (!byPlatform) this.#memo.parties.set(party.agentId, (byPlatform = new Map()));
    let byUser = byPlatform.get(party.platform);
    if (!byUser) byPlatform.set(party.platform, (byUser = new Map()));
    const who = party.keyId ? `${party.userId ?? ""}\u0000${party.keyId}` : (party.userId ?? "");
    const hit = byUser.get(who);
    // A key's budget comes with the party (the key's config), not from `config`: it must be the same one.
    if (hit && (!party.keyId || hit.scopes[hit.scopes.length - 1]!.budget === party.keyBudget)) return hit;
    const scopes = scopesOf(party, {
      agent: config.agents[party.agentId]?.budget,
      perUser: config.budgets.per_user,
    });
    const entry = { scopes, ids: scopes.map((x) => x.id), limits: budgetLimits(scopes) };
    byUser.set(who, entry);
    this.#memo.size++;
    return entry;
  }

  /** The provider, model and price an agent's usage is recorded with. */
  #agent(agentId: string): AgentAccounting {
    const config = this.#current();
    let a = this.#memo.agents.get(agentId);
    if (!a) {
      const profile = config.registry.get(agentId);
      a = {
        provider: profile?.provider.kind ?? "unknown",
        model: profile?.model.name ?? profile?.provider.kind ?? "unknown",
        price: profile ? priceOf(config.pricing, profile.provider.kind, profile.model.name) : undefined,
      };
      this.#memo.agents.set(agentId, a);
      this.#memo.size++;
    }
    return a;
  }

  /**
   * Admit a turn or refuse it (throws `TurnRefusedError`): budgets first (a used-up budget is final), then
   * rate limits. `requests: false` takes no request token (it was taken when the message arrived);
   * `enforceConcurrency: false` holds a turn slot without refusing (the turn's message is already accepted).
   */
  async admit(
    party: SpendParty,
    options: { requests?: boolean; enforceConcurrency?: boolean } = {},
  ): Promise<Admission> {
    const now = this.#now();
    const limits = this.#o.accounting === false ? [] : this.#budgets(party).limits;
    const loaded = BudgetSnapshot.load(this.#o.store.usage, limits, now);
    // Answered from the cache (the usual case): no wait for a promise.
    const snapshot = loaded instanceof BudgetSnapshot ? loaded : await loaded;
    const exhausted = snapshot.exhausted();
    if (exhausted) {
      publish("limit", { kind: "budget", scope: exhausted.scope.kind, agentId: party.agentId });
      throw new TurnRefusedError("budget", exhaustedMessage(exhausted, now));
    }
    let release = () => {};
    {
      const limits = this.#o.config().rate_limits;
      const subjects: RateSubject[] = [];
      if (party.userId && limits.per_user)
        subjects.push({
          kind: "user",
          id: `user:${party.platform}:${party.userId}`,
          limits: limits.per_user,
        });
      if (party.keyId && limits.per_key)
        subjects.push({ kind: "key", id: `key:${party.keyId}`, limits: limits.per_key });
      if (subjects.length > 0) {
        const r = await this.#rates.acquire(subjects, now, {
          requests: options.requests !== false,
          enforceConcurrency: options.enforceConcurrency !== false,
        });
        if ("kind" in r) {
          publish("limit", { kind: r.kind, scope: r.scope, agentId: party.agentId });
          throw new TurnRefusedError(r.kind, r.message, r.retryAfterMs);
        }
        release = r.release;
      }
    }
    const admission: Admission = { party, release, snapshot };
    if (!snapshot.empty) {
      const { price } = this.#agent(party.agentId);
      admission.spendLimit = (used) => {
        const over = snapshot.exhausted({
          tokens: used.inputTokens + used.outputTokens,
          costUsd: costOf(used, price),
        });
        return over ? `(I stopped here: ${exhaustedMessage(over, this.#now())})` : undefined;
      };
    }
    return admission;
  }

  /**
   * `admit` for a chat message: a refusal is logged and told to the chat through `notify` once per wait
   * (not once per message), and yields `undefined`.
   */
  async admitChat(
    party: SpendParty,
    options: { requests?: boolean; enforceConcurrency?: boolean },
    notify: (text: string) => Promise<void>,
  ): Promise<Admission | undefined> {
    try {
      return await this.admit(party, options);
    } catch (err) {
      if (!(err instanceof TurnRefusedError)) throw err;
      this.#o.logger.info({ agent: party.agentId, platform: party.platform, kind: err.kind }, err.message);
      if (this.shouldNotify(party, err))
        notify(`⚠️ ${err.message}`).catch((e: unknown) =>
          this.#o.logger.warn({ err: e }, "could not send the limit notice"),
        );
      return undefined;
    }
  }

  /** Refuse (throw `TurnRefusedError`) when a budget of `party` is used up; takes no rate-limit token. */
  async checkBudget(party: SpendParty): Promise<void> {
    if (this.#o.accounting === false) return;
    const now = this.#now();
    const exhausted = (
      await BudgetSnapshot.load(this.#o.store.usage, this.#budgets(party).limits, now)
    ).exhausted();
    if (exhausted) throw new TurnRefusedError("budget", exhaustedMessage(exhausted, now));
  }

  /** Whether to answer a refused chat user (once per wait, not once per message). */
  shouldNotify(party: SpendParty, error: TurnRefusedError): boolean {
    return this.#rates.shouldNotify(
      `${party.platform}:${party.userId ?? ""}`,
      { retryAfterMs: error.retryAfterMs ?? 60_000 },
      this.#now(),
    );
  }

  /** The provider kind and model of an agent, as usage and metrics name them. */
  modelOf(agentId: string): { provider: string; model: string } {
    const { provider, model } = this.#agent(agentId);
    return { provider, model };
  }

  /**
   * Record a turn's usage (call beside the write that stores the reply, so both share a commit); warns at the
   * threshold. Resolves with the cost once the usage is committed.
   */
  async record(admission: Admission, usage: Usage, sessionId: string): Promise<number> {
    if (this.#o.accounting === false) return 0;
    const { party } = admission;
    const now = this.#now();
    const { provider, model, price } = this.#agent(party.agentId);
    const costUsd = costOf(usage, price);
    const { ids, limits } = this.#budgets(party);
    // The totals as they were at admission: a turn that crosses the threshold warns once.
    const snapshot = admission.snapshot ?? (await BudgetSnapshot.load(this.#o.store.usage, limits, now));
    const committed = this.#o.store.usage.record(
      {
        at: now,
        agentId: party.agentId,
        userId: party.userId,
        keyId: party.keyId,
        sessionId,
        platform: party.platform,
        provider,
        model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedTokens: usage.cachedInputTokens ?? 0,
        costUsd,
      },
      ids,
    );
    await committed;
    if (snapshot.empty) return costUsd;
    const warnAt = this.#o.config().budgets.warn_at;
    const facts = listening("budget");
    snapshot.fractions(
      { tokens: usage.inputTokens + usage.outputTokens, costUsd },
      (scope, window, before, after) => {
        if (facts)
          publish("budget", {
            scope: scope.kind,
            agentId: party.agentId,
            window,
            remaining: Math.max(0, 1 - after),
          });
        if (before < warnAt && after >= warnAt) this.#warn(party, scope.id, window, after);
      },
    );
    return costUsd;
  }

  #warn(party: SpendParty, scopeId: string, window: string, used: number): void {
    const text = `Budget warning: ${scopeId} has used ${Math.round(used * 100)}% of its ${window} budget.`;
    this.#o.logger.warn({ agent: party.agentId, scope: scopeId, window, used }, text);
    const target = this.#o.config().budgets.notify;
    if (target && this.#o.notify) {
      this.#o
        .notify({ platform: target.platform, account: target.account, chatId: target.chat_id }, text)
        .catch((err: unknown) => this.#o.logger.warn({ err }, "could not send the budget warning"));
    }
  }

  /** `/usage`: today's and this month's spend of the chat's user and agent. */
  async usageReport(party: SpendParty): Promise<string> {
    const now = this.#now();
    const ids = windowIds(now);
    const lines: string[] = [];
    for (const scope of this.#budgets(party).scopes) {
      if (scope.kind === "key") continue;
      const name = scope.kind === "agent" ? `Agent ${party.agentId}` : "You";
      for (const window of ["daily", "monthly"] as const) {
        const t = await this.#o.store.usage.total(scope.id, ids[window]);
        const limit = scope.budget?.[window];
        const of = limit ? ` (${Math.round(usedFraction(t, limit) * 100)}% of the ${window} budget)` : "";
        lines.push(
          `${name}, ${window === "daily" ? "today" : "this month"}: ${t.tokens.toLocaleString("en-US")} tokens, $${t.costUsd.toFixed(4)}${of}`,
        );
      }
    }
    return lines.join("\n");
  }

  // --- adapters: health and the circuit breaker ---

  breaker(platform: string, account: string): CircuitBreaker {
    const key = adapterKey(platform, account);
    let b = this.#breakers.get(key);
    if (!b) {
      const c = this.#o.config().circuit_breaker;
      b = new CircuitBreaker({
        failures: c.failures,
        cooldownMs: c.cooldown_s * 1000,
        maxCooldownMs: c.max_cooldown_s * 1000,
      });
      this.#breakers.set(key, b);
    }
    return b;
  }

  /** An adapter account reports (or the gateway observes) a new state. */
  setAdapterState(platform: string, account: string, state: AdapterState, reason?: string): void {
    const key = adapterKey(platform, account);
    const prev = this.#adapters.get(key);
    if (prev?.state === state && prev.reason === reason) return;
    const reconnect = prev?.state === "reconnecting" && state === "connected";
    const reconnects = (prev?.reconnects ?? 0) + (reconnect ? 1 : 0);
    if (state === "stopped") this.#adapters.delete(key);
    else
      this.#adapters.set(key, {
        platform,
        account,
        state,
        ...(reason ? { reason } : {}),
        since: this.#now(),
        ...(reconnects > 0 ? { reconnects } : {}),
      });
    publish("adapter", {
      platform,
      account,
      state,
      ...(reason ? { reason } : {}),
      ...(reconnect ? { reconnect: true } : {}),
    });
  }

  /** Follow an adapter's `start()`: `connected` when it resolves, `failed` (and rethrown) when it rejects. */
  async watchStart(
    platform: string,
    account: string,
    started: ReturnType<PlatformAdapter["start"]>,
  ): Promise<AdapterStartResult | undefined> {
    // "starting" unless the adapter already reported a state while starting.
    if (!this.#adapters.has(adapterKey(platform, account)))
      this.setAdapterState(platform, account, "starting");
    let result: AdapterStartResult | undefined;
    try {
      result = (await started) ?? undefined;
    } catch (err) {
      this.setAdapterState(platform, account, "failed", (err as Error)?.message ?? String(err));
      throw err;
    }
    // Started but not connected yet (the adapter keeps retrying): it reports `connected` once it is.
    if (result && result.connected === false)
      this.setAdapterState(platform, account, "reconnecting", result.reason);
    else this.setAdapterState(platform, account, "connected");
    return result;
  }

  /** Every adapter account with its state; an open or paused breaker overrides a connected state. */
  adapters(): AdapterHealth[] {
    const out: AdapterHealth[] = [];
    for (const [key, h] of this.#adapters) {
      const b = this.#breakers.get(key);
      if (b && (b.state === "open" || b.state === "paused") && h.state === "connected") {
        out.push({
          ...h,
          state: b.state,
          ...(b.reason ? { reason: b.reason } : {}),
          ...(b.retryAt ? { retryAt: new Date(b.retryAt).toISOString() } : {}),
        });
      } else out.push(h);
    }
    return out;
  }

  /** `/platform pause <name>`: hold every matching account's sends (`telegram` or `telegram/work`). */
  pause(name: string, actor: string): string[] {
    const hit = this.#matching(name);
    for (const h of hit) {
      this.breaker(h.platform, h.account).pause(`paused by ${actor}`);
      publish("adapter", { platform: h.platform, account: h.account, state: "paused" });
    }
    return hit.map((h) => adapterKey(h.platform, h.account));
  }

  resume(name: string): string[] {
    const hit = this.#matching(name);
    for (const h of hit) {
      this.breaker(h.platform, h.account).resume();
      publish("adapter", { platform: h.platform, account: h.account, state: h.state });
    }
    return hit.map((h) => adapterKey(h.platform, h.account));
  }

  #matching(name: string): AdapterHealth[] {
    return [...this.#adapters.values()].filter(
      (h) => h.platform === name || adapterKey(h.platform, h.account) === name,
    );
  }

  setCronStatus(fn: () => CronStatus | undefined): void {
    this.#cron = fn;
  }

  cron(): CronStatus | undefined {
    return this.#cron();
  }

  /** The MCP servers of every agent, by agent id then server name (set by the app that owns them). */
  setMcpStatus(fn: () => Record<string, Record<string, McpReadiness>>): void {
    this.#mcp = fn;
  }

  mcp(): Record<string, Record<string, McpReadiness>> {
    return this.#mcp();
  }

  /** Append to the audit log; never fails the caller. Resolves once written (or the failure logged). */
  audit(entry: {
    actor: string;
    action: string;
    target?: string;
    detail?: unknown;
    onceKey?: string;
  }): Promise<void> {
    return this.#o.store.audit.append(entry).then(
      () => {},
      (err: unknown) => {
        this.#o.logger.error({ err, action: entry.action }, "could not write the audit log");
      },
    );
  }
}
