import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentEvent } from "@switchboard/core";
import type { StubChatRequest, StubResponse } from "@switchboard/testing";

/** The stdio MCP server the tests start (a real SDK server). */
export const STDIO_SERVER = join(import.meta.dirname, "fixtures", "mcp-stdio-server.mjs");

/** A stub model turn (two requests): call `tool` with `args` first, then answer with the tool's output. */
export function callThenAnswer(tool: string, args: unknown = {}): StubResponse[] {
  const step = (body: StubChatRequest): StubResponse => {
    const last = body.messages.at(-1);
    if (last?.role === "tool")
      return {
        text: `done: ${String(typeof last.content === "string" ? last.content : JSON.stringify(last.content)).slice(0, 200)}`,
      };
    return { toolCalls: [{ name: tool, arguments: args }] };
  };
  return [step, step];
}

/** The output of the first tool result of a turn. */
export function toolOutput(events: AgentEvent[]): { output: unknown; isError: boolean } {
  const r = events.find((e) => e.type === "tool-result");
  if (r?.type !== "tool-result")
    throw new Error(`no tool result in ${JSON.stringify(events).slice(0, 2000)}`);
  return { output: r.output, isError: r.isError === true };
}

/** Parse the JSON a test server's `whoami` returned (as text or inside the AI SDK's content wrapper). */
export function whoami(output: unknown): {
  pid: number;
  cwd: string;
  env: Record<string, string>;
  authorization?: string;
} {
  const text = typeof output === "string" ? output : JSON.stringify(output);
  return JSON.parse(text);
}

export function writeEnv(home: string, values: Record<string, string>): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, ".env"),
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
