import { type Gateway, onFact } from "@switchboard/core";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { FastCounter, FastHistogram } from "./fast-metrics.ts";

/** The Prometheus metrics of one gateway, fed by core's facts (`node:diagnostics_channel`). */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** The text exposition format. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Unsubscribe from the facts. */
  close(): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const STORE_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const ADAPTER_STATES = [
  "starting",
  "connected",
  "reconnecting",
  "standby",
  "failed",
  "paused",
  "open",
] as const;

/**
 * Every label is bounded by the config (agent, platform, account, provider, model) or by a fixed set
 * (outcome, kind, state): no user, session or turn id ever becomes a label.
 */
export function createGatewayMetrics(
  gateway: Gateway,
  options: { processMetrics?: boolean } = {},
): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const reg = { registers: [registry] };

  const turns = new FastCounter({
    name: "switchboard_turns_total",
    help: "Turns by agent, platform and outcome (ok, error, aborted); refusals are switchboard_limit_refusals_total.",
    labelNames: ["agent", "platform", "outcome"] as const,
    ...reg,
  });
  const turnSeconds = new FastHistogram({
    name: "switchboard_turn_duration_seconds",
    help: "Turn latency, model and tools included.",
    labelNames: ["agent", "platform"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const ttft = new FastHistogram({
    name: "switchboard_turn_time_to_first_token_seconds",
    help: "Time from the turn's start to its first text.",
    labelNames: ["agent", "platform"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const modelSeconds = new FastHistogram({
    name: "switchboard_model_call_duration_seconds",
    help: "Model call latency (the tool loop included) by provider and model.",
    labelNames: ["provider", "model"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const tokens = new FastCounter({
    name: "switchboard_model_tokens_total",
    help: "Tokens by provider, model and kind (input, output, cached).",
    labelNames: ["provider", "model", "kind"] as const,
    ...reg,
  });
  const cost = new FastCounter({
    name: "switchboard_model_cost_usd_total",
    help: "Spend in USD from the price table, by provider and model.",
    labelNames: ["provider", "model"] as const,
    ...reg,
  });
  const toolCalls = new FastCounter({
    name: "switchboard_tool_calls_total",
    help: "Tool calls by tool and outcome.",
    labelNames: ["tool", "outcome"] as const,
    ...reg,
  });
  let queued = 0;
  new Gauge({
    name: "switchboard_queue_depth",
    help: "Messages waiting in session lanes for the next turn.",
    collect() {
      this.set(queued);
    },
    ...reg,
  });
  const adapterState = new Gauge({
    name: "switchboard_adapter_state",
    help: "1 for the current state of each adapter account (connected, reconnecting, failed, paused, open = breaker open).",
    labelNames: ["platform", "account", "state"] as const,
    ...reg,
  });
  const reconnects = new FastCounter({
    name: "switchboard_adapter_reconnects_total",
    help: "Adapter accounts back to connected after reconnecting.",
    labelNames: ["platform", "account"] as const,
    ...reg,
  });
  const sends = new FastCounter({
    name: "switchboard_sends_total",
    help: "Replies sent by platform account and outcome (ok, error, short_circuited).",
    labelNames: ["platform", "account", "outcome"] as const,
    ...reg,
  });
  const sendRetries = new FastCounter({
    name: "switchboard_send_retries_total",
    help: "Send attempts retried after a 429, 5xx or network error.",
    labelNames: ["platform", "account"] as const,
    ...reg,
  });
  const storeSeconds = new FastHistogram({
    name: "switchboard_store_write_duration_seconds",
    help: "Store group-commit latency.",
    labelNames: ["outcome"] as const,
    buckets: STORE_BUCKETS,
    ...reg,
  });
  const cronRuns = new FastCounter({
    name: "switchboard_cron_runs_total",
    help: "Cron job runs by agent and outcome.",
    labelNames: ["agent", "outcome"] as const,
    ...reg,
  });
  type BudgetGauge = { labels: { scope: string; agent: string; window: string }; remaining: number };
  const budgets: BudgetGauge[] = [];
  const budgetsByScope = new Map<string, Map<string, Map<string, BudgetGauge>>>();
  new Gauge({
    name: "switchboard_budget_remaining_ratio",
    help: "Fraction left of the budget last spent against, by scope kind (agent, user, key), agent and window.",
    labelNames: ["scope", "agent", "window"] as const,
    collect() {
      for (const b of budgets) this.set(b.labels, b.remaining);
    },
    ...reg,
  });
  const refusals = new FastCounter({
    name: "switchboard_limit_refusals_total",
    help: "Turns refused by a budget, a rate limit or the concurrency limit.",
    labelNames: ["kind", "scope", "agent"] as const,
    ...reg,
  });

  const seconds = (ms: number) => ms / 1000;
  const offs = [
    onFact("turn", (f) => {
      if (f.phase !== "end") return;
      turns.inc([f.agentId, f.platform, f.outcome]);
      turnSeconds.observe([f.agentId, f.platform], seconds(f.durationMs));
      if (f.ttftMs !== undefined) ttft.observe([f.agentId, f.platform], seconds(f.ttftMs));
    }),
    onFact("model", (f) => {
      if (f.phase !== "end") return;
      modelSeconds.observe([f.provider, f.model], seconds(f.durationMs));
      if (f.inputTokens) tokens.inc([f.provider, f.model, "input"], f.inputTokens);
      if (f.outputTokens) tokens.inc([f.provider, f.model, "output"], f.outputTokens);
      if (f.cachedTokens) tokens.inc([f.provider, f.model, "cached"], f.cachedTokens);
      if (f.costUsd) cost.inc([f.provider, f.model], f.costUsd);
    }),
    onFact("tool", (f) => {
      if (f.phase === "end") toolCalls.inc([f.toolName, f.isError ? "error" : "ok"]);
    }),
    onFact("queue", (f) => {
      queued = Math.max(0, queued + f.delta);
    }),
    onFact("adapter", (f) => {
      for (const s of ADAPTER_STATES)
        adapterState.set({ platform: f.platform, account: f.account, state: s }, s === f.state ? 1 : 0);
      if (f.state === "stopped")
        for (const s of ADAPTER_STATES) adapterState.remove(f.platform, f.account, s);
      if (f.reconnect) reconnects.inc([f.platform, f.account]);
    }),
    onFact("send", (f) => {
      const outcome = f.shortCircuited ? "short_circuited" : f.ok ? "ok" : "error";
      sends.inc([f.platform, f.account, outcome]);
      if (f.retries) sendRetries.inc([f.platform, f.account], f.retries);
    }),
    onFact("store", (f) => storeSeconds.observe([f.ok ? "ok" : "error"], seconds(f.durationMs))),
    onFact("cron", (f) => cronRuns.inc([f.agentId, f.outcome])),
    onFact("budget", (f) => {
      // Four per turn (agent and user, day and month): found by label values, no key built.
      let byAgent = budgetsByScope.get(f.scope);
      if (!byAgent) budgetsByScope.set(f.scope, (byAgent = new Map()));
      let byWindow = byAgent.get(f.agentId);
      if (!byWindow) byAgent.set(f.agentId, (byWindow = new Map()));
      const b = byWindow.get(f.window);
      if (b) b.remaining = f.remaining;
      else {
        const entry = {
          labels: { scope: f.scope, agent: f.agentId, window: f.window },
          remaining: f.remaining,
        };
        byWindow.set(f.window, entry);
        budgets.push(entry);
      }
    }),
    onFact("limit", (f) => refusals.inc([f.kind, f.scope, f.agentId])),
  ];
  // Accounts already running when metrics start.
  for (const h of gateway.ops.adapters())
    for (const s of ADAPTER_STATES)
      adapterState.set({ platform: h.platform, account: h.account, state: s }, s === h.state ? 1 : 0);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close() {
      for (const off of offs) off();
    },
  };
}
