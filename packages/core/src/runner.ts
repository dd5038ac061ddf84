import type { AgentProfile } from "./agents.ts";
import type { OutboundMedia, SentMessage } from "./platform.ts";
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
  /** `client: true` marks a call of a caller's tool (see `AgentTurn.clientTools`): the turn pauses on it. */
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown; client?: boolean }
  | { type: "tool-result"; toolCallId: string; toolName: string; output: unknown; isError?: boolean }
  /**
   * `toolCalls` are the caller's tools the model called: the turn paused on them (`finishReason`
   * "tool-calls") and continues when a later turn brings their results as `tool` messages.
   */
  | {
      type: "finish";
      text: string;
      usage: Usage;
      finishReason?: string;
      toolCalls?: Array<{ toolCallId: string; toolName: string; input: unknown }>;
    }
  /** A tool call waits for a human (`required`), or that wait ended (`approved` / `denied`). */
  | ApprovalEvent
  /** `status` is the provider's HTTP status; `retryAfterS` its `retry-after`, when it sent one. */
  | {
      type: "error";
      /** Shown to the user or API client: says what happened and what to do, without server paths or internal URLs. */
      message: string;
      code?: string;
      status?: number;
      retryAfterS?: number;
      /** The full cause for the gateway log (file paths, provider URLs); never sent to a user. */
      detail?: string;
    };

/** A tool the API caller offers next to the agent's own: the model may call it, the caller runs it. */
export interface ClientTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
  strict?: boolean;
}

/** Generation settings a caller asked for; unset fields keep the agent's model config. */
export interface GenerationOptions {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** JSON output: any object (`json_object`) or one matching `schema` (`json_schema`). */
  responseFormat?: { type: "json"; schema?: Record<string, unknown>; name?: string; description?: string };
  toolChoice?: "auto" | "none" | "required" | { toolName: string };
}

export interface ApprovalEvent {
  type: "approval";
  status: "required" | "approved" | "denied";
  approvalId: string;
  toolName: string;
  input: unknown;
  /** Who answered (`telegram:12345`, `api:<key>`), or why it was denied (`timeout`, `cron`). */
  by?: string;
  reason?: string;
}

/** A tool call that needs a human's yes before it runs. */
export interface ApprovalRequest {
  toolName: string;
  input: unknown;
  /** The MCP server of the tool, when it is one. */
  server?: string;
  /** The agent whose tool it is, when a delegated turn asks its caller's human. */
  agentId?: string;
}

export interface ApprovalDecision {
  approved: boolean;
  /** Who answered, or `timeout` / `cron` / `unattended`. */
  by: string;
  reason?: string;
}

/** `delegate(agent, task)`: run a turn of another agent in its own scope; the answer text comes back. */
export interface DelegateRequest {
  agentId: string;
  task: string;
  signal: AbortSignal;
}

export interface DelegateResult {
  agentId: string;
  /** The delegated turn's own session (its parent is the caller's). */
  sessionId: string;
  text: string;
  error?: string;
}

/** The services tools may use, supplied by the gateway. */
export interface TurnServices {
  store?: SessionStore;
  /** Cron jobs of the calling agent (the `cron` toolset). */
  cron?: CronService;
  /** Ask a human to approve a tool call; resolves with the answer (a timeout denies). */
  approve?: (request: ApprovalRequest) => Promise<ApprovalDecision>;
  /** Hand a task to another agent (the `delegate` toolset); refusals reject with an `AgentError`. */
  delegate?: (request: DelegateRequest) => Promise<DelegateResult>;
  /** Files into the chat the turn came from (the `media` toolset); absent outside a chat turn. */
  media?: TurnMedia;
}

/** A chat turn's way to send files into its own chat; the address is fixed by the gateway, not the model. */
export interface TurnMedia {
  /** The largest file the chat's platform account takes, in bytes. */
  readonly maxBytes: number;
  /** Upload now (the `send_file` tool); rejects with what went wrong. Throws `MediaError` past `maxBytes`. */
  send(file: OutboundMedia): Promise<SentMessage>;
  /** Upload after the reply text is delivered (images the reply links to). Throws `MediaError` past `maxBytes`. */
  attach(file: OutboundMedia): void;
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
  /** The caller's own tools (API `tools`), offered next to the agent's; a call of one pauses the turn. */
  clientTools?: ClientTool[];
  generation?: GenerationOptions;
  /** The agent's model alone: no persona, memory, skills or agent tools (API `<agent>:plain` models). */
  plain?: boolean;
  /**
   * Asked after each step of a tool loop with the usage so far: a note (shown to the user) when a budget
   * is used up and the loop must stop after this step, else `undefined`.
   */
  spendLimit?: (used: Usage) => string | undefined;
  /**
   * Asked before each model step after the first: user messages that arrived meanwhile, to add to the
   * conversation of this very turn (`session.busy: steer`). Each message is handed out once.
   */
  steer?: () => ChatMessage[];
  /**
   * `false` when nobody reads the turn's events as they come (a non-streaming API request): the runner may
   * ask the model for whole answers instead of a stream. The events are the same, only later. Default: streamed.
   */
  stream?: boolean;
}

/** Implemented by `@switchboard/agent`. `run` never throws: failures become an `error` event. */
export interface AgentRunner {
  run(turn: AgentTurn): AsyncIterable<AgentEvent>;
  /** The names of the tools the agent's model is offered (the API refuses client tools that collide with them). */
  toolNames?(agent: AgentProfile): string[];
}
