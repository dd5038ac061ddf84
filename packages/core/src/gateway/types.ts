import type { AgentProfile } from "../agents.ts";
import type { ApprovalBroker } from "../approvals.ts";
import type { GatewayConfig } from "../config/load.ts";
import type { BudgetConfig } from "../config/schema.ts";
import type { Operations } from "../operate/operations.ts";
import type { Address, InboundMessage, PlatformAdapter } from "../platform.ts";
import type { HookRunner } from "../plugins.ts";
import type { Resolution, Router } from "../routing/router.ts";
import type {
  AgentEvent,
  AgentRunner,
  ChatMessage,
  ClientTool,
  CronService,
  GenerationOptions,
} from "../runner.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { SessionRecord, SessionStore } from "../sessions/store-types.ts";
import type { Replica } from "./replicas.ts";

/** What `dispatch` did with an inbound message. */
export type DispatchOutcome =
  | { status: "queued"; agentId: string; sessionKey: string; sessionId: string; resolution: Resolution }
  | { status: "command"; agentId: string; sessionKey: string; command: string }
  | {
      status: "ignored";
      reason:
        | "duplicate"
        | "self"
        | "unauthorized"
        | "pairing"
        | "not-mentioned"
        | "empty"
        | "stopping"
        | "limited";
    };

/** A turn started programmatically (the API server): the caller supplies agent, session and input. */
export interface TurnRequest {
  agentId: string;
  source: SessionSource;
  /** Continue (or create) this stored session id, namespaced under the agent by the caller. */
  sessionId?: string;
  /** Session key for a stored session; default derived from `source`. */
  sessionKey?: string;
  /** History supplied by the caller; when absent, the stored session's history is loaded. */
  history?: ChatMessage[];
  input: ChatMessage[];
  extraSystem?: string;
  signal?: AbortSignal;
  /** Store the transcript (default true). */
  persist?: boolean;
  /**
   * Tool calls that need approval: `wait` for an answer through `approvals` (the run's
   * `approval.required` event), or `deny` them at once (default: nobody watches the turn).
   */
  approvals?: "wait" | "deny";
  /** Store `input` as part of the transcript (default `persist`); false when the caller already stored it. */
  persistInput?: boolean;
  clientTools?: ClientTool[];
  generation?: GenerationOptions;
  /** Run the agent's bare model (see `AgentTurn.plain`). */
  plain?: boolean;
  /** `false`: the caller reads only the outcome, not the events as they come (see `AgentTurn.stream`). */
  stream?: boolean;
  /**
   * Runs on the session's lane once earlier turns of the session have finished (their replies stored) and
   * before the history is read: the API brings the stored transcript in line with a request's body here.
   * What it returns is written in one group commit before the model is called: the stored messages after
   * `rewindAfter` (a message id; 0 for all) removed, then `input` stored as this turn's input. `known.empty`:
   * the session held no message when this turn opened it, and no turn of this gateway ran on it since (it was
   * first on the session's lane), so the stored transcript need not be read to be compared.
   */
  prepare?: (
    session: SessionRecord,
    known: { empty: boolean },
  ) => Promise<TranscriptEdit | undefined> | TranscriptEdit | undefined;
  /** The API key calling (`Principal.id`) and its own budget: usage, budgets and rate limits per key. */
  key?: { id: string; budget?: BudgetConfig | undefined };
}

/** A change to a stored transcript (see `TurnRequest.prepare`). */
export interface TranscriptEdit {
  rewindAfter?: number;
  input: ChatMessage[];
}

export interface TurnHandle {
  agentId: string;
  sessionId: string;
  sessionKey: string;
  /** The turn's events; iterate once. Finishes with `finish` or `error`. */
  events: AsyncIterable<AgentEvent>;
  abort(reason?: string): void;
}

/** A cron / proactive delivery target: `{platform, account, chatId, threadId}`. */
export type DeliveryTarget = Address;

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: SessionStore;
  /** This process's leases when several replicas share the store (PostgreSQL); none on one SQLite process. */
  readonly replica?: Replica | undefined;
  readonly router: Router;
  readonly hooks: HookRunner;
  readonly runner: AgentRunner;
  /** The profile of an agent, or `undefined`. */
  agent(id: string): AgentProfile | undefined;
  /** Accept an inbound platform message: dedupe → auth → mention gate → route → session → commands → queue. */
  dispatch(inbound: InboundMessage): Promise<DispatchOutcome>;
  /** Run one turn for a programmatic caller (the API server), inside the agent's scope, persisted. */
  turn(request: TurnRequest): Promise<TurnHandle>;
  /** Send text to a chat through a connected adapter, chunked and retried; used by cron. */
  deliver(target: DeliveryTarget, text: string, options: { agentId: string }): Promise<void>;
  /** Tool calls waiting for a human's approval. */
  readonly approvals: ApprovalBroker;
  /** The connected adapters. */
  adapters(): PlatformAdapter[];
  /** Resolves when no turn is queued or running (tests, drain). */
  idle(): Promise<void>;
  /** Swap config (live reload): in-flight turns finish on the old profiles. */
  reconfigure(config: GatewayConfig): void;
  /** Set the cron service used by the `cron` toolset and the API's cron routes. */
  setCron(cron: CronService | undefined): void;
  /** The cron service, when cron is running. */
  readonly cron: CronService | undefined;
  /** Usage, budgets, rate limits, adapter health and the circuit breakers. */
  readonly ops: Operations;
  /** Stop accepting, drain in-flight turns (bounded), stop adapters. Does not close the store. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}
