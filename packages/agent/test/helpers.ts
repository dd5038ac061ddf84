import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentEvent,
  type AgentProfile,
  type AgentTurn,
  type GatewayConfig,
  loadConfig,
} from "@switchboard/core";

/** A temporary root home, removed by `cleanup()`. */
export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "sb-agent-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Load a config from YAML text for a root home, with an explicit environment (default: empty). */
export function configFrom(
  home: string,
  yaml: string,
  env: Record<string, string | undefined> = {},
): Promise<GatewayConfig> {
  return loadConfig({ home, text: yaml, env });
}

export function profile(config: GatewayConfig, id: string): AgentProfile {
  const p = config.registry.get(id);
  if (!p) throw new Error(`no agent ${id} in the test config`);
  return p;
}

export function makeTurn(agent: AgentProfile, text: string, extra: Partial<AgentTurn> = {}): AgentTurn {
  return {
    agent,
    sessionId: `session-${agent.id}`,
    sessionKey: `agent:${agent.id}:test:dm:chat-1`,
    source: {
      platform: "test",
      chatType: "dm",
      chatId: "chat-1",
      userId: "u-1",
      userName: "Ada",
      agentId: agent.id,
    },
    history: [],
    input: [{ role: "user", content: text }],
    signal: new AbortController().signal,
    ...extra,
  };
}

export async function collect(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

export function terminal(events: AgentEvent[]): AgentEvent {
  const ends = events.filter((e) => e.type === "finish" || e.type === "error");
  if (ends.length !== 1)
    throw new Error(`expected exactly one terminal event, got ${ends.length}: ${JSON.stringify(events)}`);
  if (events[events.length - 1] !== ends[0]) throw new Error("the terminal event is not the last event");
  return ends[0]!;
}

export function deltas(events: AgentEvent[]): string[] {
  return events.flatMap((e) => (e.type === "text-delta" ? [e.text] : []));
}
