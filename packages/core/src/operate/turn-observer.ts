import { randomBytes } from "node:crypto";
import type { AgentEvent } from "../runner.ts";
import { listening, publish } from "../telemetry/facts.ts";

let counter = 0;
const PREFIX = randomBytes(3).toString("hex");

/** A process-unique turn id linking the facts (and spans) of one turn. */
export function newTurnId(): string {
  return `${PREFIX}-${(++counter).toString(36)}`;
}

/**
 * Publishes one turn's facts as its events go by: the turn, its model call (with usage and cost) and its
 * tool calls. Costs nothing beyond a few `hasSubscribers` checks when nobody listens.
 */
export class TurnObserver {
  readonly turnId: string;
  readonly #agentId: string;
  readonly #platform: string;
  readonly #provider: string;
  readonly #model: string;
  readonly #started = performance.now();
  readonly #on: boolean;
  #ttftMs: number | undefined;
  #ended = false;

  constructor(args: {
    turnId: string;
    agentId: string;
    platform: string;
    sessionId: string;
    provider: string;
    model: string;
  }) {
    this.turnId = args.turnId;
    this.#agentId = args.agentId;
    this.#platform = args.platform;
    this.#provider = args.provider;
    this.#model = args.model;
    this.#on = listening("turn") || listening("model") || listening("tool");
    if (!this.#on) return;
    const at = Date.now();
    publish("turn", {
      phase: "start",
      turnId: this.turnId,
      agentId: args.agentId,
      platform: args.platform,
      sessionId: args.sessionId,
      at,
    });
    publish("model", {
      phase: "start",
      turnId: this.turnId,
      agentId: args.agentId,
      provider: args.provider,
      model: args.model,
      at,
    });
  }

  event(ev: AgentEvent): void {
    if (!this.#on) return;
    if (ev.type === "text-delta") {
      this.#ttftMs ??= performance.now() - this.#started;
    } else if (ev.type === "tool-call" || ev.type === "tool-result") {
      publish("tool", {
        phase: ev.type === "tool-call" ? "start" : "end",
        turnId: this.turnId,
        toolCallId: ev.toolCallId,
        toolName: ev.toolName,
        ...(ev.type === "tool-result" && ev.isError ? { isError: true } : {}),
        at: Date.now(),
      });
    }
  }

  /** The turn ended: with `usage` on success, else an error or an abort. */
  end(result: {
    usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number };
    costUsd?: number;
    error?: string;
    aborted?: boolean;
  }): void {
    if (!this.#on || this.#ended) return;
    this.#ended = true;
    const durationMs = performance.now() - this.#started;
    const at = Date.now();
    publish("model", {
      phase: "end",
      turnId: this.turnId,
      agentId: this.#agentId,
      provider: this.#provider,
      model: this.#model,
      durationMs,
      inputTokens: result.usage?.inputTokens ?? 0,
      outputTokens: result.usage?.outputTokens ?? 0,
      cachedTokens: result.usage?.cachedInputTokens ?? 0,
      costUsd: result.costUsd ?? 0,
      ...(result.error ? { error: result.error } : {}),
      at,
    });
    publish("turn", {
      phase: "end",
      turnId: this.turnId,
      agentId: this.#agentId,
      platform: this.#platform,
      outcome: result.aborted ? "aborted" : result.error ? "error" : "ok",
      durationMs,
      ...(this.#ttftMs !== undefined ? { ttftMs: this.#ttftMs } : {}),
      at,
    });
  }
}
