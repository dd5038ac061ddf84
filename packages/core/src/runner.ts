import type { AgentProfile } from "./agents.ts";
import type { HookRunner } from "./plugins.ts";
import type { SessionSource } from "./sessions/source.ts";
import type { SessionStore } from "./sessions/store-types.ts";

export type ContentPart = { type: "text"; text: string } | { type: "image"; url: string; mimeType?: string };

/** A message of a conversation as the runner sees it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | ContentPart[];
  toolCalls?: Array<{ id: string; name: string; input: unknown }>;
  toolCallId?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of `inputTokens`), when it reports them. */
  cachedInputTokens?: number;
}

/** What a turn streams. Exactly one `finish` or `error` ends it. */
export type AgentEvent =
  | { type: "text-delta"; text: string }
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
  | { type: "tool-result"; toolCallId: string; toolName: string; output: unknown; isError?: boolean }
  | { type: "finish"; text: string; usage: Usage; finishReason?: string }
  | { type: "error"; message: string; code?: string; status?: number };

/** The services tools may use, supplied by the gateway. */
export interface TurnServices {
  store?: SessionStore;
  /** Cron jobs of the calling agent (the `cron` toolset). */
  cron?: CronService;
}

/** The slice of the cron subsystem the agent's `cron` toolset uses; always scoped to `agentId`. */
export interface CronService {
  create(
    agentId: string,
    input: { schedule: string; prompt: string; name?: string; deliver?: string; origin?: unknown },
  ): Promise<unknown>;
  list(agentId: string): Promise<unknown[]>;
  remove(agentId: string, jobId: string): Promise<boolean>;
}

/** One model turn of one agent. Run it inside `useAgent(turn.agent, …)`. */
export interface AgentTurn {
  agent: AgentProfile;
  sessionId: string;
  sessionKey: string;
  source: SessionSource;
  /** Earlier messages of the session, oldest first (without the new input). */
  history: ChatMessage[];
  /** The new user message(s) of this turn. */
  input: ChatMessage[];
  /** Extra system text layered on top of the agent's own prompt (API `system` messages). */
  extraSystem?: string;
  signal: AbortSignal;
  hooks?: HookRunner;
  services?: TurnServices;
  /** Time source for the prompt's session context (tests inject it). */
  now?: () => Date;
  /**
   * Asked after each step of a tool loop with the usage so far: a note (shown to the user) when a budget
   * is used up and the loop must stop after this step, else `undefined`.
   */
  spendLimit?: (used: Usage) => string | undefined;
}

/** Implemented by `@switchboard/agent`. `run` never throws: failures become an `error` event. */
export interface AgentRunner {
  run(turn: AgentTurn): AsyncIterable<AgentEvent>;
}
