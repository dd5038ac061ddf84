import type { AgentEvent, Usage } from "@switchboard/core";
import {
  generateText,
  type ModelMessage,
  type OutputInterface,
  stepCountIs,
  experimental_streamTextLowMemory as streamTextOnce,
  type TimeoutConfiguration,
  type ToolChoice,
  type ToolSet,
} from "ai";
import { ABORTED, type TerminalEvent } from "./echo.ts";
import { describeProviderError } from "./provider-errors.ts";
import type { ResolvedModel } from "./providers.ts";

export interface ModelTimeouts {
  /** Until the first content of each step (a slow model loading a long prompt). */
  firstChunkMs?: number;
  /** Between content chunks once the model has started answering. */
  chunkMs?: number;
  /** The whole turn, tools included; unset = no limit. */
  totalMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<Pick<ModelTimeouts, "firstChunkMs" | "chunkMs">> = {
  firstChunkMs: 180_000,
  chunkMs: 120_000,
};

export interface ModelTurnArgs {
  resolved: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  tools: ToolSet;
  maxSteps: number;
  maxRetries: number;
  timeouts: ModelTimeouts;
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** JSON output (`response_format`). */
  output?: OutputInterface;
  toolChoice?: ToolChoice<ToolSet>;
  /** Tools of `tools` the caller runs: a call of one ends the turn, returned in `finish.toolCalls`. */
  clientTools?: ReadonlySet<string>;
  /** Aborts the model call (our turn's controller). */
  signal: AbortSignal;
  /** The caller's signal: tells a user's stop from a timeout. */
  userSignal: AbortSignal;
  /** `false` when nothing reads the turn as a stream: the model is asked for whole answers (`generateText`). */
  stream?: boolean;
  /** Budget check after each step (see `AgentTurn.spendLimit`). */
  spendLimit?: (used: Usage) => string | undefined;
  /** User messages that arrived during the turn, added before the next step (see `AgentTurn.steer`). */
  steer?: () => ModelMessage[];
}

type ClientCall = { toolCallId: string; toolName: string; input: unknown };

/** What the current step of the tool loop has seen. */
interface Step {
  hasText: boolean;
  /** Calls of the caller's tools in this step: when the step ends on them, the turn pauses. */
  clientCalls: ClientCall[];
}

const newStep = (): Step => ({ hasText: false, clientCalls: [] });

/** A step's text, tool calls and tool results, as the stream delivers them or a whole answer holds them. */
type ContentPart =
  | { type: "text" | "text-delta"; text: string }
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
  | { type: "tool-result"; toolCallId: string; toolName: string; output: unknown }
  | { type: "tool-error"; toolCallId: string; toolName: string; error: unknown };

const CONTENT_PARTS: ReadonlySet<string> = new Set([
  "text",
  "text-delta",
  "tool-call",
  "tool-result",
  "tool-error",
]);

/** The events of one content part, streamed or whole alike. */
function* contentEvents(
  part: ContentPart,
  state: { text: string },
  step: Step,
  clientTools: ReadonlySet<string> | undefined,
): Generator<AgentEvent> {
  switch (part.type) {
    case "text":
    case "text-delta":
      if (!part.text) return;
      // Text of a later step (after tool calls) starts a new paragraph, in the stream and in the final text alike.
      if (!step.hasText && state.text) {
        state.text += "\n\n";
        yield { type: "text-delta", text: "\n\n" };
      }
      step.hasText = true;
      state.text += part.text;
      yield { type: "text-delta", text: part.text };
      return;
    case "tool-call": {
      const client = clientTools?.has(part.toolName) === true;
      if (client)
        step.clientCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
      yield {
        type: "tool-call",
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        input: part.input,
        ...(client ? { client: true } : {}),
      };
      return;
    }
    case "tool-result":
      yield {
        type: "tool-result",
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        output: part.output,
      };
      return;
    case "tool-error":
      yield {
        type: "tool-result",
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        output: errorText(part.error),
        isError: true,
      };
  }
}

type StepUsage = { usage: { inputTokens: number | undefined; outputTokens: number | undefined } };

function usageOfSteps(steps: readonly StepUsage[]): Usage {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const s of steps) {
    inputTokens += s.usage.inputTokens ?? 0;
    outputTokens += s.usage.outputTokens ?? 0;
  }
  return { inputTokens, outputTokens };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A `prepareStep` that appends the messages `steer` hands out (after the first step; the first has the input). */
function steerStep(steer: () => ModelMessage[]) {
  return ({ stepNumber, messages }: { stepNumber: number; messages: ModelMessage[] }) => {
    if (stepNumber === 0) return undefined;
    const extra = steer();
    return extra.length > 0 ? { messages: [...messages, ...extra] } : undefined;
  };
}

/** The `streamText` / `generateText` options of a turn, shared by both paths. */
function callOptions(args: ModelTurnArgs, onBudget: (note: string) => void) {
  const spendLimit = args.spendLimit;
  let budgetNote: string | undefined;
  const hasTools = Object.keys(args.tools).length > 0;
  return {
    model: args.resolved.model,
    ...(args.system ? { instructions: args.system } : {}),
    messages: args.messages,
    ...(hasTools ? { tools: args.tools } : {}),
    stopWhen: spendLimit
      ? [
          stepCountIs(args.maxSteps),
          ({ steps }: { steps: readonly StepUsage[] }) => {
            if (budgetNote === undefined) {
              budgetNote = spendLimit(usageOfSteps(steps));
              if (budgetNote !== undefined) onBudget(budgetNote);
            }
            return budgetNote !== undefined;
          },
        ]
      : stepCountIs(args.maxSteps),
    maxRetries: args.maxRetries,
    abortSignal: args.signal,
    // The returned messages carry forward to later steps, so each steered message is added once.
    ...(args.steer ? { prepareStep: steerStep(args.steer) } : {}),
    ...(args.temperature !== undefined ? { temperature: args.temperature } : {}),
    ...(args.maxOutputTokens !== undefined ? { maxOutputTokens: args.maxOutputTokens } : {}),
    ...(args.topP !== undefined ? { topP: args.topP } : {}),
    ...(args.stopSequences ? { stopSequences: args.stopSequences } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.presencePenalty !== undefined ? { presencePenalty: args.presencePenalty } : {}),
    ...(args.frequencyPenalty !== undefined ? { frequencyPenalty: args.frequencyPenalty } : {}),
    ...(args.output ? { output: args.output } : {}),
    ...(hasTools && args.toolChoice ? { toolChoice: args.toolChoice } : {}),
    // Switchboard registers no AI SDK telemetry integration; enabled, the SDK still copies and redacts every
    // lifecycle event (tool list included) for its tracing channel, a measurable cost on every call.
    telemetry: { isEnabled: false },
  };
}

/** What a turn has produced so far, across its steps. */
interface TurnState {
  text: string;
  steps: number;
  lastStepReason: string | undefined;
  budgetNote: string | undefined;
}

const newTurnState = (): TurnState => ({
  text: "",
  steps: 0,
  lastStepReason: undefined,
  budgetNote: undefined,
});

/**
 * The turn's end once the model stopped: a pause on the caller's tools, or the answer with its note (yielded
 * as the last text, a budget stop or the step limit) and the terminal event returned.
 */
function* finishTurn(
  args: ModelTurnArgs,
  state: TurnState,
  clientCalls: Array<{ toolCallId: string; toolName: string; input: unknown }>,
  finishReason: string,
  total: {
    inputTokens: number | undefined;
    outputTokens: number | undefined;
    inputTokenDetails?: { cacheReadTokens?: number | undefined };
  },
): Generator<AgentEvent, TerminalEvent> {
  const usage = {
    inputTokens: total.inputTokens ?? 0,
    outputTokens: total.outputTokens ?? 0,
    ...(total.inputTokenDetails?.cacheReadTokens
      ? { cachedInputTokens: total.inputTokenDetails.cacheReadTokens }
      : {}),
  };
  const { text, lastStepReason, budgetNote } = state;
  if (lastStepReason === "tool-calls" && clientCalls.length > 0)
    return { type: "finish", text, usage, finishReason: "tool-calls", toolCalls: clientCalls };
  let note: string | undefined;
  if (budgetNote && lastStepReason === "tool-calls") note = `${text ? "\n\n" : ""}${budgetNote}`;
  else if (lastStepReason === "tool-calls" && state.steps >= args.maxSteps)
    note = `${text ? "\n\n" : ""}(I stopped after ${args.maxSteps} steps without finishing; ask me to continue.)`;
  if (!note) return { type: "finish", text, usage, finishReason };
  yield { type: "text-delta", text: note };
  return { type: "finish", text: text + note, usage, finishReason };
}

/**
 * One model turn through the AI SDK: the tool loop, mapped to agent events; returns the terminal event.
 * A turn nobody reads as a stream (`stream: false`) asks the model for one JSON answer per step
 * (`generateText`): no event-stream parsing, no per-chunk validation, no web-stream chain.
 */
export function runModelTurn(args: ModelTurnArgs): AsyncGenerator<AgentEvent, TerminalEvent> {
  return args.stream === false ? generateModelTurn(args) : streamModelTurn(args);
}

async function* generateModelTurn(args: ModelTurnArgs): AsyncGenerator<AgentEvent, TerminalEvent> {
  const { resolved } = args;
  const state = newTurnState();
  let result: Awaited<ReturnType<typeof generateText>>;
  try {
    result = await generateText({
      ...callOptions(args, (note) => {
        state.budgetNote = note;
      }),
      // Non-streaming: the chunk timeouts have no meaning; the response-header timeout of the fetch and
      // the total limit still hold.
      ...(args.timeouts.totalMs ? { timeout: { totalMs: args.timeouts.totalMs } } : {}),
    });
  } catch (err) {
    if (args.userSignal.aborted) return ABORTED;
    if (args.signal.aborted) return timedOut(args);
    return describeProviderError(err, resolved.label);
  }
  let step = newStep();
  for (const done of result.steps) {
    state.steps++;
    step = newStep();
    for (const part of done.content) {
      if (CONTENT_PARTS.has(part.type))
        yield* contentEvents(part as ContentPart, state, step, args.clientTools);
    }
    state.lastStepReason = done.finishReason;
  }
  if (args.signal.aborted) return timedOut(args);
  return yield* finishTurn(args, state, step.clientCalls, result.finishReason, result.totalUsage);
}

/** A turn the gateway aborted: the user's stop, else the timeout that fired. */
function timedOut(args: ModelTurnArgs): TerminalEvent {
  return args.userSignal.aborted
    ? ABORTED
    : describeProviderError(
        Object.assign(new Error("timeout"), { name: "TimeoutError" }),
        args.resolved.label,
      );
}

async function* streamModelTurn(args: ModelTurnArgs): AsyncGenerator<AgentEvent, TerminalEvent> {
  const { resolved } = args;
  const timeout: TimeoutConfiguration<ToolSet> = {
    firstChunkMs: args.timeouts.firstChunkMs ?? DEFAULT_TIMEOUTS.firstChunkMs,
    chunkMs: args.timeouts.chunkMs ?? DEFAULT_TIMEOUTS.chunkMs,
    ...(args.timeouts.totalMs ? { totalMs: args.timeouts.totalMs } : {}),
  };
  const state = newTurnState();
  // The turn reads the part stream once and nothing else: the single-consumer variant skips the tee and
  // the replay buffer `streamText` keeps for further readers (same engine, same parts).
  const result = streamTextOnce({
    ...callOptions(args, (note) => {
      state.budgetNote = note;
    }),
    timeout,
    // Errors arrive as stream parts below; the default handler would only log them to the console.
    onError: () => {},
  });

  let step = newStep();
  try {
    for await (const part of result.stream) {
      switch (part.type) {
        case "start-step":
          state.steps++;
          step = newStep();
          break;
        case "text-delta":
        case "tool-call":
        case "tool-result":
        case "tool-error":
          yield* contentEvents(part, state, step, args.clientTools);
          break;
        case "finish-step":
          state.lastStepReason = part.finishReason;
          break;
        case "error":
          if (args.userSignal.aborted) return ABORTED;
          return describeProviderError(part.error, resolved.label);
        case "abort":
          return timedOut(args);
        case "finish": {
          if (part.finishReason === "error") break;
          return yield* finishTurn(args, state, step.clientCalls, part.finishReason, part.totalUsage);
        }
        default:
          break;
      }
    }
  } catch (err) {
    if (args.signal.aborted) return timedOut(args);
    return describeProviderError(err, resolved.label);
  }
  if (args.signal.aborted) return timedOut(args);
  return {
    type: "error",
    code: "no_finish",
    message: `Model provider "${resolved.label.name}" ended the answer without finishing; try again.`,
  };
}
