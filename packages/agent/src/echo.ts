import type { AgentEvent, AgentTurn } from "@switchboard/core";
import { lastUserText } from "./messages.ts";
import { type AgentTool, runTool, type ToolContext } from "./tools/index.ts";

export type TerminalEvent = Extract<AgentEvent, { type: "finish" } | { type: "error" }>;

/** Longest `/sleep` or `[[sleep:…]]` honoured, so a typo cannot park a turn for days. */
export const ECHO_MAX_SLEEP_MS = 600_000;
export const ECHO_MAX_LONG_CHARS = 1_000_000;

const SLEEP_COMMAND_RE = /^\/sleep\s+(\d+)\b/;
const SLEEP_MARKER_RE = /\[\[sleep:(\d+)\]\]/;
const LONG_MARKER_RE = /\[\[long:(\d+)\]\]/;
const TOOL_MARKER = "[[tool:";

export const ABORTED: TerminalEvent = { type: "error", code: "aborted", message: "The turn was stopped." };

/** Words with their trailing whitespace: the pieces echo streams. Their concatenation is `text`. */
export function words(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** `[[tool:<name> <json>]]` markers in order; the JSON ends at the first `]]` after which it parses. */
export function parseToolMarkers(text: string): Array<{ name: string; input: unknown; error?: string }> {
  const out: Array<{ name: string; input: unknown; error?: string }> = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(TOOL_MARKER, from);
    if (start < 0) return out;
    const head = /^([A-Za-z0-9_-]+)\s*/.exec(text.slice(start + TOOL_MARKER.length));
    const name = head?.[1] ?? "";
    const argsStart = start + TOOL_MARKER.length + (head?.[0].length ?? 0);
    let end = text.indexOf("]]", argsStart);
    let input: unknown;
    let error: string | undefined = end < 0 ? "the marker is not closed with ]]" : undefined;
    while (end >= 0) {
      const raw = text.slice(argsStart, end).trim();
      try {
        input = raw ? JSON.parse(raw) : {};
        error = undefined;
        break;
      } catch {
        error = `the input ${JSON.stringify(raw)} is not JSON`;
        const next = text.indexOf("]]", end + 1);
        if (next < 0) break;
        end = next;
      }
    }
    out.push({ name, input, ...(error ? { error } : {}) });
    if (end < 0) return out;
    from = end + 2;
  }
}

const PARAGRAPHS = [
  "Switchboard routes every message to the agent that owns the chat. Each agent keeps its own persona, memory and skills, and answers with its own model.",
  "Long replies are split before they reach the platform. A split never lands inside a code block: the block is closed at the end of one message and reopened at the start of the next.",
  "Paragraph breaks are the preferred place to split, then sentence ends, then spaces. Only a single word longer than the limit is ever cut in the middle.",
];

function codeBlock(n: number): string {
  const lines = Array.from(
    { length: 10 },
    (_, j) => `  const value${n}_${j} = compute(${n}, ${j}); // line ${j + 1} of block ${n}`,
  );
  return ["```ts", `function block${n}() {`, ...lines, "}", "```"].join("\n");
}

/** Exactly `n` characters of Markdown: paragraphs with fenced code blocks between them, no fence left open. */
export function longText(prefix: string, n: number): string {
  const filler = (len: number) => {
    let s = "";
    while (s.length < len) s += "filler text to reach the requested length. ";
    return s.slice(0, len);
  };
  const head = `${prefix}Here is a long answer.`;
  if (n <= head.length + 2) return filler(n);
  const blocks = [head];
  let length = head.length;
  for (let i = 0; ; i++) {
    const block = i % 3 === 1 ? codeBlock(i) : (PARAGRAPHS[i % PARAGRAPHS.length] ?? "");
    // Keep room for a closing paragraph so the text always ends outside a fence.
    if (length + 2 + block.length + 2 + 20 > n) break;
    blocks.push(block);
    length += 2 + block.length;
  }
  return `${blocks.join("\n\n")}\n\n${filler(n - length - 2)}`;
}

/**
 * The built-in offline provider: replies `[<agent id>] <last user text>` word by word. Magic inputs drive
 * tests (see the README): `/sleep <ms>`, `[[sleep:<ms>]]`, `[[fail]]`, `[[long:<n>]]`, `[[silent]]`,
 * `[[system]]`, `[[tool:<name> <json>]]`.
 */
export async function* runEcho(
  turn: AgentTurn,
  tools: AgentTool[],
  ctx: ToolContext,
  system: string,
): AsyncGenerator<AgentEvent, TerminalEvent> {
  const signal = ctx.signal;
  const input = lastUserText(turn.history, turn.input);
  const prefix = `[${turn.agent.id}] `;

  const sleepMatch = SLEEP_COMMAND_RE.exec(input.trim()) ?? SLEEP_MARKER_RE.exec(input);
  if (sleepMatch) await sleep(Math.min(Number(sleepMatch[1]), ECHO_MAX_SLEEP_MS), signal);
  if (signal.aborted) return ABORTED;
  if (input.includes("[[fail]]")) {
    return {
      type: "error",
      code: "echo_fail",
      message: `The echo model failed on purpose ([[fail]] in the input of agent "${turn.agent.id}").`,
    };
  }

  let reply: string;
  const markers = parseToolMarkers(input);
  const longMatch = LONG_MARKER_RE.exec(input);
  if (markers.length > 0) {
    const lines: string[] = [];
    for (const [i, marker] of markers.entries()) {
      const toolCallId = `echo-${i + 1}`;
      yield { type: "tool-call", toolCallId, toolName: marker.name, input: marker.input };
      const t = tools.find((x) => x.name === marker.name);
      let output: unknown;
      let isError = false;
      if (marker.error || !t) {
        output =
          marker.error ?? `tool ${JSON.stringify(marker.name)} is not available to agent "${turn.agent.id}"`;
        isError = true;
      } else {
        try {
          output = await runTool(t, marker.input, ctx);
        } catch (err) {
          output = (err as Error).message;
          isError = true;
        }
      }
      if (signal.aborted) return ABORTED;
      yield {
        type: "tool-result",
        toolCallId,
        toolName: marker.name,
        output,
        ...(isError ? { isError: true } : {}),
      };
      lines.push(
        isError
          ? `tool ${marker.name} failed: ${String(output)}`
          : `tool ${marker.name}: ${JSON.stringify(output)}`,
      );
    }
    reply = `${prefix}${lines.join("\n")}`;
  } else if (input.includes("[[silent]]")) {
    reply = "[SILENT]";
  } else if (input.includes("[[system]]")) {
    reply = `${prefix}${system}`;
  } else if (longMatch) {
    reply = longText(prefix, Math.min(Number(longMatch[1]), ECHO_MAX_LONG_CHARS));
  } else {
    reply = `${prefix}${input}`;
  }

  for (const piece of words(reply)) {
    if (signal.aborted) return ABORTED;
    yield { type: "text-delta", text: piece };
  }
  if (signal.aborted) return ABORTED;
  return {
    type: "finish",
    text: reply,
    usage: { inputTokens: countWords(input), outputTokens: countWords(reply) },
    finishReason: "stop",
  };
}
