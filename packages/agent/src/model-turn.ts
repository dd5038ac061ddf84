import type { AgentEvent, Usage } from "@switchboard/core";
import {
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
  /** Budget check after each step (see `AgentTurn.spendLimit`). */
  spendLimit?: (used: Usage) => string | undefined;
  /** User messages that arrived during the turn, added before the next step (see `AgentTurn.steer`). */
  steer?: () => ModelMessage[];
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

/** One model turn through the AI SDK: the tool loop, mapped to agent events; returns the terminal event. */
export async function* runModelTurn(args: ModelTurnArgs): AsyncGenerator<AgentEvent, TerminalEvent> {
  const { resolved } = args;
  const timeout: TimeoutConfiguration<ToolSet> = {
    firstChunkMs: args.timeouts.firstChunkMs ?? DEFAULT_TIMEOUTS.firstChunkMs,
    chunkMs: args.timeouts.chunkMs ?? DEFAULT_TIMEOUTS.chunkMs,
    ...(args.timeouts.totalMs ? { totalMs: args.timeouts.totalMs } : {}),
  };
  const hasTools = Object.keys(args.tools).length > 0;
  let budgetNote: string | undefined;
  const spendLimit = args.spendLimit;
  // The turn reads the part stream once and nothing else: the single-consumer variant skips the tee and
  // the replay buffer `streamText` keeps for further readers (same engine, same parts).
  const result = streamTextOnce({
    model: resolved.model,
    ...(args.system ? { instructions: args.system } : {}),
    messages: args.messages,
    ...(hasTools ? { tools: args.tools } : {}),
    stopWhen: spendLimit
      ? [
          stepCountIs(args.maxSteps),
          ({ steps }) => {
            budgetNote ??= spendLimit(usageOfSteps(steps));
            return budgetNote !== undefined;
          },
        ]
      : stepCountIs(args.maxSteps),
    maxRetries: args.maxRetries,
    abortSignal: args.signal,
    // The returned messages carry forward to later steps, so each steered message is added once.
    ...(args.steer ? { prepareStep: steerStep(args.steer) } : {}),
    timeout,
    ...(args.temperature !== undefined ? { temperature: args.temperature } : {}),
    ...(args.maxOutputTokens !== undefined ? { maxOutputTokens: args.maxOutputTokens } : {}),
    ...(args.topP !== undefined ? { topP: args.topP } : {}),
    ...(args.stopSequences ? { stopSequences: args.stopSequences } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.presencePenalty !== undefined ? { presencePenalty: args.presencePenalty } : {}),
    ...(args.frequencyPenalty !== undefined ? { frequencyPenalty: args.frequencyPenalty } : {}),
    ...(args.output ? { output: args.output } : {}),
    ...(hasTools && args.toolChoice ? { toolChoice: args.toolChoice } : {}),
    // Errors arrive as stream parts below; the default handler would only log them to the console.
    onError: () => {},
    // Switchboard registers no AI SDK telemetry integration; enabled, the SDK still copies and redacts every
    // lifecycle event (tool list included) for its tracing channel, a measurable cost on every call.
    telemetry: { isEnabled: false },
  });

  const timedOut = (): TerminalEvent =>
    args.userSignal.aborted
      ? ABORTED
      : describeProviderError(Object.assign(new Error("timeout"), { name: "TimeoutError" }), resolved.label);

  let text = "";
  let stepHasText = false;
  let steps = 0;
  let lastStepReason: string | undefined;
  /** Calls of the caller's tools in the current step: when the step ends on them, the turn pauses. */
  let clientCalls: Array<{ toolCallId: string; toolName: string; input: unknown }> = [];
  try {
    for await (const part of result.stream) {
      switch (part.type) {
        case "start-step":
          steps++;
          stepHasText = false;
          clientCalls = [];
          break;
        case "text-delta": {
          if (!part.text) break;
          // Text of a later step (after tool calls) starts a new paragraph, in the stream and in the final text alike.
          if (!stepHasText && text) {
            text += "\n\n";
            yield { type: "text-delta", text: "\n\n" };
          }
          stepHasText = true;
          text += part.text;
          yield { type: "text-delta", text: part.text };
          break;
        }
        case "tool-call": {
          const client = args.clientTools?.has(part.toolName) === true;
          if (client)
            clientCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
          yield {
            type: "tool-call",
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            input: part.input,
            ...(client ? { client: true } : {}),
          };
          break;
        }
        case "tool-result":
          yield {
            type: "tool-result",
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            output: part.output,
          };
          break;
        case "tool-error":
          yield {
            type: "tool-result",
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            output: errorText(part.error),
            isError: true,
          };
          break;
        case "finish-step":
          lastStepReason = part.finishReason;
          break;
        case "error":
          if (args.userSignal.aborted) return ABORTED;
          return describeProviderError(part.error, resolved.label);
        case "abort":
          return timedOut();
        case "finish": {
          if (part.finishReason === "error") break;
          const usage = {
            inputTokens: part.totalUsage.inputTokens ?? 0,
            outputTokens: part.totalUsage.outputTokens ?? 0,
            ...(part.totalUsage.inputTokenDetails?.cacheReadTokens
              ? { cachedInputTokens: part.totalUsage.inputTokenDetails.cacheReadTokens }
              : {}),
          };
          if (lastStepReason === "tool-calls" && clientCalls.length > 0)
            return { type: "finish", text, usage, finishReason: "tool-calls", toolCalls: clientCalls };
          if (budgetNote && lastStepReason === "tool-calls") {
            const note = `${text ? "\n\n" : ""}${budgetNote}`;
            text += note;
            yield { type: "text-delta", text: note };
          } else if (lastStepReason === "tool-calls" && steps >= args.maxSteps) {
            const note = `${text ? "\n\n" : ""}(I stopped after ${args.maxSteps} steps without finishing; ask me to continue.)`;
            text += note;
            yield { type: "text-delta", text: note };
          }
          return { type: "finish", text, usage, finishReason: part.finishReason };
        }
        default:
          break;
      }
    }
  } catch (err) {
    if (args.signal.aborted) return timedOut();
    return describeProviderError(err, resolved.label);
  }
  if (args.signal.aborted) return timedOut();
  return {
    type: "error",
    code: "no_finish",
    message: `Model provider "${resolved.label.name}" ended the answer without finishing; try again.`,
  };
}
