import { type Gateway, onFact } from "@switchboard/core";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The Prometheus metrics of one gateway, fed by core's facts (`node:diagnostics_channel`). */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** The text exposition format. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Unsubscribe from the facts. */
  close(): void;
}

/**
 * The labelled children of a metric, memoized by label values: prom-client hashes a label object on
 * every `inc`/`observe`, and these run on every turn.
 */
function bound<C>(metric: { labels(...values: string[]): C }): (...values: string[]) => C {
  const children = new Map<string, C>();
  return (...values) => {
    const key = values.join("\u0000");
    let child = children.get(key);
    if (!child) {
      child = metric.labels(...values);
      children.set(key, child);
    }
    return child;
  };
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const STORE_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const ADAPTER_STATES = ["starting", "connected", "reconnecting", "failed", "paused", "open"] as const;

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

  const turns = new Counter({
    name: "switchboard_turns_total",
    help: "Turns by agent, platform and outcome (ok, error, aborted, refused).",
    labelNames: ["agent", "platform", "outcome"] as const,
    ...reg,
  });
  const turnSeconds = new Histogram({
    name: "switchboard_turn_duration_seconds",
    help: "Turn latency, model and tools included.",
    labelNames: ["agent", "platform"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const ttft = new Histogram({
    name: "switchboard_turn_time_to_first_token_seconds",
    help: "Time from the turn's start to its first text.",
    labelNames: ["agent", "platform"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const modelSeconds = new Histogram({
    name: "switchboard_model_call_duration_seconds",
    help: "Model call latency (the tool loop included) by provider and model.",
    labelNames: ["provider", "model"] as const,
    buckets: LATENCY_BUCKETS,
    ...reg,
  });
  const tokens = new Counter({
    name: "switchboard_model_tokens_total",
    help: "Tokens by provider, model and kind (input, output, cached).",
    labelNames: ["provider", "model", "kind"] as const,
    ...reg,
  });
  const cost = new Counter({
    name: "switchboard_model_cost_usd_total",
    help: "Spend in USD from the price table, by provider and model.",
    labelNames: ["provider", "model"] as const,
    ...reg,
  });
  const toolCalls = new Counter({
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
  const reconnects = new Counter({
    name: "switchboard_adapter_reconnects_total",
    help: "Adapter accounts back to connected after reconnecting.",
    labelNames: ["platform", "account"] as const,
    ...reg,
  });
  const sends = new Counter({
    name: "switchboard_sends_total",
    help: "Replies sent by platform account and outcome (ok, error, short_circuited).",
    labelNames: ["platform", "account", "outcome"] as const,
    ...reg,
  });
  const sendRetries = new Counter({
    name: "switchboard_send_retries_total",
    help: "Send attempts retried after a 429, 5xx or network error.",
    labelNames: ["platform", "account"] as const,
    ...reg,
  });
  const storeSeconds = new Histogram({
    name: "switchboard_store_write_duration_seconds",
    help: "Store group-commit latency.",
    labelNames: ["outcome"] as const,
    buckets: STORE_BUCKETS,
    ...reg,
  });
  const cronRuns = new Counter({
    name: "switchboard_cron_runs_total",
    help: "Cron job runs by agent and outcome.",
    labelNames: ["agent", "outcome"] as const,
    ...reg,
  });
  const budgetRemaining = new Gauge({
    name: "switchboard_budget_remaining_ratio",
    help: "Fraction left of the budget last spent against, by scope kind (agent, user, key), agent and window.",
    labelNames: ["scope", "agent", "window"] as const,
    ...reg,
  });
  const refusals = new Counter({
    name: "switchboard_limit_refusals_total",
    help: "Turns refused by a budget, a rate limit or the concurrency limit.",
    labelNames: ["kind", "scope", "agent"] as const,
    ...reg,
  });

  const seconds = (ms: number) => ms / 1000;
  const turnsOf = bound(turns);
  const turnSecondsOf = bound(turnSeconds);
  const ttftOf = bound(ttft);
  const modelSecondsOf = bound(modelSeconds);
  const tokensOf = bound(tokens);
  const costOf = bound(cost);
  const sendsOf = bound(sends);
  const storeOf = bound(storeSeconds);
  const offs = [
    onFact("turn", (f) => {
      if (f.phase !== "end") return;
      turnsOf(f.agentId, f.platform, f.outcome).inc();
      turnSecondsOf(f.agentId, f.platform).observe(seconds(f.durationMs));
      if (f.ttftMs !== undefined) ttftOf(f.agentId, f.platform).observe(seconds(f.ttftMs));
    }),
    onFact("model", (f) => {
      if (f.phase !== "end") return;
      modelSecondsOf(f.provider, f.model).observe(seconds(f.durationMs));
      if (f.inputTokens) tokensOf(f.provider, f.model, "input").inc(f.inputTokens);
      if (f.outputTokens) tokensOf(f.provider, f.model, "output").inc(f.outputTokens);
      if (f.cachedTokens) tokensOf(f.provider, f.model, "cached").inc(f.cachedTokens);
      if (f.costUsd) costOf(f.provider, f.model).inc(f.costUsd);
    }),
    onFact("tool", (f) => {
      if (f.phase === "end") toolCalls.inc({ tool: f.toolName, outcome: f.isError ? "error" : "ok" });
    }),
    onFact("queue", (f) => {
      queued = Math.max(0, queued + f.delta);
    }),
    onFact("adapter", (f) => {
      for (const s of ADAPTER_STATES)
        adapterState.set({ platform: f.platform, account: f.account, state: s }, s === f.state ? 1 : 0);
      if (f.state === "stopped")
        for (const s of ADAPTER_STATES) adapterState.remove(f.platform, f.account, s);
      if (f.reconnect) reconnects.inc({ platform: f.platform, account: f.account });
    }),
    onFact("send", (f) => {
      const outcome = f.shortCircuited ? "short_circuited" : f.ok ? "ok" : "error";
      sendsOf(f.platform, f.account, outcome).inc();
      if (f.retries) sendRetries.inc({ platform: f.platform, account: f.account }, f.retries);
    }),
    onFact("store", (f) => storeOf(f.ok ? "ok" : "error").observe(seconds(f.durationMs))),
    onFact("cron", (f) => cronRuns.inc({ agent: f.agentId, outcome: f.outcome })),
    onFact("budget", (f) =>
      budgetRemaining.set({ scope: f.scope, agent: f.agentId, window: f.window }, f.remaining),
    ),
    onFact("limit", (f) => refusals.inc({ kind: f.kind, scope: f.scope, agent: f.agentId })),
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
