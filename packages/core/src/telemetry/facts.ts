import { channel } from "node:diagnostics_channel";

/**
 * What core reports about its work, through `node:diagnostics_channel`: metrics and tracing subscribe
 * (the API server's telemetry module); with no subscriber a publish is one `hasSubscribers` check.
 * Labels are bounded by design: agent, platform, account, provider, model, outcome; never a user or session id
 * except `turnId`, which only links spans and is never a metric label.
 */
export interface Facts {
  /** A turn starts (`phase: start`) or ends (`phase: end`). */
  turn:
    | { phase: "start"; turnId: string; agentId: string; platform: string; sessionId: string; at: number }
    | {
        phase: "end";
        turnId: string;
        agentId: string;
        platform: string;
        outcome: "ok" | "error" | "aborted" | "refused";
        durationMs: number;
        /** Time to the first text delta, when there was one. */
        ttftMs?: number;
        at: number;
      };
  /** Routing of an inbound message (ran before the turn it starts; `turnId` links them). */
  route: { turnId: string; agentId: string; by: string; startedAt: number; durationMs: number };
  /** A model call (the runner's stream, tool loop included) with the provider's usage. */
  model:
    | { phase: "start"; turnId: string; agentId: string; provider: string; model: string; at: number }
    | {
        phase: "end";
        turnId: string;
        agentId: string;
        provider: string;
        model: string;
        durationMs: number;
        inputTokens: number;
        outputTokens: number;
        cachedTokens: number;
        costUsd: number;
        error?: string;
        at: number;
      };
  tool: {
    phase: "start" | "end";
    turnId: string;
    toolCallId: string;
    toolName: string;
    isError?: boolean;
    at: number;
  };
  /** A platform send (all its retries); `retries` counts the attempts after the first. */
  send: {
    turnId?: string;
    platform: string;
    account: string;
    ok: boolean;
    retries: number;
    startedAt: number;
    durationMs: number;
    /** The breaker refused the send without trying. */
    shortCircuited?: boolean;
  };
  /** Messages waiting in session lanes changed by `delta`. */
  queue: { delta: number };
  /** An adapter account changed state. */
  adapter: { platform: string; account: string; state: AdapterState; reason?: string; reconnect?: boolean };
  /** A store write (group commit) took `durationMs`. */
  store: { op: string; durationMs: number; ok: boolean };
  cron: { agentId: string; outcome: "ok" | "error" | "skipped" };
  /** A budget was checked or spent: the fraction left of the tightest limit of a scope kind. */
  budget: {
    scope: "agent" | "user" | "key";
    agentId: string;
    window: "daily" | "monthly";
    remaining: number;
  };
  /** A request was refused by a limit. */
  limit: { kind: "budget" | "rate" | "concurrency"; scope: "agent" | "user" | "key"; agentId: string };
}

export type AdapterState =
  | "starting"
  | "connected"
  | "reconnecting"
  /** Another replica holds the account's lease and receives it; this one takes over if that one goes. */
  | "standby"
  | "failed"
  | "paused"
  | "open"
  | "stopped";

export type FactName = keyof Facts;

const CHANNELS = new Map<FactName, ReturnType<typeof channel>>();

/** The diagnostics channel of a fact: `switchboard:<name>`. */
export function factChannel(name: FactName): ReturnType<typeof channel> {
  let ch = CHANNELS.get(name);
  if (!ch) {
    ch = channel(`switchboard:${name}`);
    CHANNELS.set(name, ch);
  }
  return ch;
}

/** Publish a fact when someone listens. */
export function publish<N extends FactName>(name: N, fact: Facts[N]): void {
  const ch = factChannel(name);
  if (ch.hasSubscribers) ch.publish(fact);
}

/** Whether anyone listens to a fact (skip building an expensive payload otherwise). */
export function listening(name: FactName): boolean {
  return factChannel(name).hasSubscribers;
}

/** Subscribe to a fact; returns the unsubscribe function. */
export function onFact<N extends FactName>(name: N, fn: (fact: Facts[N]) => void): () => void {
  const ch = factChannel(name);
  const listener = (message: unknown) => fn(message as Facts[N]);
  ch.subscribe(listener);
  return () => {
    ch.unsubscribe(listener);
  };
}
