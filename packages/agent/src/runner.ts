import {
  AgentError,
  type AgentEvent,
  type AgentProfile,
  type AgentRunner,
  type AgentTurn,
  type ChatMessage,
  type ModelCallPayload,
  useAgent,
} from "@switchboard/core";
import type { ModelMessage } from "ai";
import { clientToolSet, jsonOutput, samplingOf, toolChoiceOf } from "./client-tools.ts";
import { ABORTED, runEcho, type TerminalEvent } from "./echo.ts";
import type { HttpFetchOptions } from "./http-fetch.ts";
import { toModelMessages } from "./messages.ts";
import { DEFAULT_TIMEOUTS, type ModelTimeouts, runModelTurn } from "./model-turn.ts";
import { buildSystemPrompt } from "./prompt.ts";
import { ModelCache } from "./providers.ts";
import { attachReplyImages } from "./reply-images.ts";
import { DEFAULT_MEMORY_CHAR_LIMIT, type ToolContext, toAiSdkTools, toolsFor } from "./tools/index.ts";
import { McpPool, type McpPoolOptions } from "./tools/mcp/pool.ts";
import { knownMcpToolNames, mcpToolsFor } from "./tools/mcp/tools.ts";

export const DEFAULT_MAX_STEPS = 8;
export const DEFAULT_MAX_RETRIES = 2;

export interface AgentRunnerOptions {
  /** Clock for the prompt's session context when the turn brings none. */
  now?: () => Date;
  /** Tool-loop step limit for models without `max_steps`; default 8. */
  maxSteps?: number;
  /** The fetch the model SDKs use (tests, proxies). */
  fetch?: typeof fetch;
  /** The HTTP client under the model SDKs when `fetch` is not given (benchmarks compare them); default the node:http one. */
  transport?: (options: HttpFetchOptions) => typeof fetch;
  /** Per-file cap of `MEMORY.md` and `USER.md` in characters; default 8,000. */
  memoryCharLimit?: number;
  /** Retries of a failed model request (429, 5xx, network), with backoff honouring `retry-after`; default 2. */
  maxRetries?: number;
  /** Model call timeouts; defaults: 180 s to the first chunk, 120 s between chunks. */
  timeouts?: ModelTimeouts;
  /** MCP connection settings (restart backoff, status files); servers themselves come from each agent's `mcp:`. */
  mcp?: McpPoolOptions;
}

/** An `AgentRunner` with the model cache it keeps, for introspection (benchmarks, tests). */
export interface SwitchboardAgentRunner extends AgentRunner {
  /** Agents with a cached provider instance. */
  cachedProviders(): number;
  /** Every agent's MCP connections. */
  readonly mcp: McpPool;
  /** Stop every MCP server (gateway shutdown). */
  close(): Promise<void>;
}

function internalError(err: unknown): TerminalEvent {
  if (err instanceof AgentError)
    return {
      type: "error",
      code: err.code,
      message: err.message,
      ...(err.detail ? { detail: err.detail } : {}),
    };
  const message = err instanceof Error ? err.message : String(err);
  return {
    type: "error",
    code: "internal_error",
    message: "The turn failed because of an internal error; the gateway log has the detail.",
    detail: `The turn failed: ${(err as Error)?.stack ?? message}`,
  };
}

/** Keep every step of the iteration inside the agent's scope, whoever drives it and from wherever. */
function scoped(agent: AgentProfile, gen: AsyncGenerator<AgentEvent, void>): AsyncIterable<AgentEvent> {
  const iterator: AsyncIterableIterator<AgentEvent> = {
    next: () => useAgent(agent, () => gen.next()),
    return: (value?: unknown) => useAgent(agent, () => gen.return(value as undefined)),
    throw: (err?: unknown) => useAgent(agent, () => gen.throw(err)),
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** The turn's steered chat messages as model messages. */
function steerOf(steer: () => ChatMessage[]): () => ModelMessage[] {
  return () => {
    const taken = steer();
    return taken.length > 0 ? toModelMessages([], taken).messages : [];
  };
}

/** The agent runtime: echo or an AI SDK model, the agent's prompt and toolsets, inside the agent's scope. */
export function createAgentRunner(options: AgentRunnerOptions = {}): SwitchboardAgentRunner {
  const models = new ModelCache({
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    responseTimeoutMs: options.timeouts?.firstChunkMs ?? DEFAULT_TIMEOUTS.firstChunkMs,
  });
  const memoryCharLimit = options.memoryCharLimit ?? DEFAULT_MEMORY_CHAR_LIMIT;
  const mcp = new McpPool(options.mcp);

  async function* turnEvents(turn: AgentTurn): AsyncGenerator<AgentEvent, void> {
    const agent = turn.agent;
    const controller = new AbortController();
    const forward = () => controller.abort(turn.signal.reason);
    if (turn.signal.aborted) forward();
    else turn.signal.addEventListener("abort", forward, { once: true });
    const modelName =
      agent.provider.kind === "echo" ? "echo" : `${agent.provider.name}/${agent.model.name ?? "default"}`;
    let ended = false;
    let inner: AsyncGenerator<AgentEvent, TerminalEvent> | undefined;
    let call: ModelCallPayload | undefined;
    let terminal: TerminalEvent = ABORTED;
    let streamed = "";
    try {
      try {
        const ctx: ToolContext = { agent, turn, memoryCharLimit, signal: controller.signal };
        // A plain turn is the bare model: no agent tools, no persona, memory or skills.
        const builtin = turn.plain
          ? []
          : toolsFor(agent.toolsets, {
              delegateTo: agent.delegateTo,
              chat: turn.services?.media !== undefined,
            });
        const tools = turn.plain
          ? []
          : [...builtin, ...(await mcpToolsFor(mcp, agent, new Set(builtin.map((t) => t.name))))];
        const converted = toModelMessages(turn.history, turn.input);
        const extraSystem = [...converted.system, turn.extraSystem ?? ""]
          .filter((s) => s.trim())
          .join("\n\n");
        const system = turn.plain
          ? extraSystem
          : buildSystemPrompt(agent, turn.source, {
              now: turn.now ?? options.now ?? (() => new Date()),
              ...(extraSystem ? { extraSystem } : {}),
            });
        if (agent.provider.kind === "echo") {
          inner = runEcho(turn, tools, ctx, system);
        } else {
          const resolved = await models.resolve(agent);
          if (converted.messages.length === 0)
            throw new AgentError("empty_input", "There is nothing to answer: the turn has no messages.");
          const agentTools = toAiSdkTools(tools, ctx);
          const clientTools = clientToolSet(turn.clientTools ?? [], agentTools);
          const g = turn.generation;
          const toolChoice = toolChoiceOf(g?.toolChoice);
          inner = runModelTurn({
            resolved,
            system,
            messages: converted.messages,
            tools: { ...agentTools, ...clientTools },
            clientTools: new Set(Object.keys(clientTools)),
            ...(g?.responseFormat ? { output: jsonOutput(g.responseFormat) } : {}),
            ...(toolChoice ? { toolChoice } : {}),
            maxSteps: agent.model.max_steps ?? options.maxSteps ?? DEFAULT_MAX_STEPS,
            maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
            timeouts: options.timeouts ?? {},
            ...(agent.model.temperature !== undefined ? { temperature: agent.model.temperature } : {}),
            ...(agent.model.max_tokens !== undefined ? { maxOutputTokens: agent.model.max_tokens } : {}),
            ...samplingOf(g),
            signal: controller.signal,
            userSignal: turn.signal,
            ...(turn.spendLimit ? { spendLimit: turn.spendLimit } : {}),
            ...(turn.steer ? { steer: steerOf(turn.steer) } : {}),
            ...(turn.stream === false ? { stream: false } : {}),
          });
        }
        call = {
          agentId: agent.id,
          sessionId: turn.sessionId,
          model: modelName,
          system,
          messageCount: converted.messages.length,
        };
        await turn.hooks?.emit("beforeModelCall", call);
        for (;;) {
          if (controller.signal.aborted) break;
          const step = await inner.next();
          if (step.done) {
            terminal = step.value;
            break;
          }
          if (step.value.type === "text-delta") streamed += step.value.text;
          yield step.value;
        }
      } catch (err) {
        terminal = turn.signal.aborted ? ABORTED : internalError(err);
      }
      if (turn.signal.aborted && terminal.type === "finish") terminal = ABORTED;
      const media = turn.services?.media;
      if (terminal.type === "finish" && media && !turn.plain && agent.toolsets.includes("media")) {
        terminal = { ...terminal, text: await attachReplyImages(terminal.text, agent, media) };
      }
      if (call) {
        await turn.hooks?.emit("afterModelCall", {
          ...call,
          text: terminal.type === "finish" ? terminal.text : streamed,
          usage: terminal.type === "finish" ? terminal.usage : { inputTokens: 0, outputTokens: 0 },
          ...(terminal.type === "error" ? { error: terminal.message } : {}),
        });
      }
      ended = true;
      yield terminal;
    } finally {
      turn.signal.removeEventListener("abort", forward);
      if (!ended) {
        // A consumer that stops reading early must not leave the model request (or a tool) running.
        controller.abort(new Error("the consumer stopped reading the turn"));
        await inner?.return(ABORTED).catch(() => undefined);
      }
    }
  }

  return {
    run: (turn) => scoped(turn.agent, turnEvents(turn)),
    toolNames: (agent) => {
      const builtin = toolsFor(agent.toolsets, { delegateTo: agent.delegateTo }).map((t) => t.name);
      return [...builtin, ...knownMcpToolNames(mcp, agent, new Set(builtin))];
    },
    cachedProviders: () => models.size,
    mcp,
    close: () => mcp.close(),
  };
}
