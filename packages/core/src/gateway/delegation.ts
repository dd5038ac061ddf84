import type { AgentProfile, AgentRegistry } from "../agents.ts";
import { AgentError } from "../errors.ts";
import type { ApprovalDecision, ApprovalRequest, DelegateRequest, DelegateResult } from "../runner.ts";
import { newSessionId } from "../sessions/store.ts";
import type { TurnHandle, TurnRequest } from "./types.ts";

/** What a delegated turn carries besides its request: who asked, along which chain, and who approves. */
export interface TurnLineage {
  /** Agent ids from the turn a human (or cron, or the API) started, down to the caller. */
  chain: string[];
  parentSessionId: string;
  approve: (request: ApprovalRequest) => Promise<ApprovalDecision>;
}

export interface DelegationDeps {
  registry: () => AgentRegistry;
  maxDepth: () => number;
  startTurn: (request: TurnRequest, lineage: TurnLineage) => Promise<TurnHandle>;
  now: () => number;
}

/**
 * `delegate(agent, task)`: a turn of the target agent in its own scope (its home, model, credentials,
 * tools), stored as its own session whose parent is the caller's. Refused unless the caller lists the
 * target under `delegate_to`, when the chain would loop, or past `delegation.max_depth`. The caller
 * gets the answer text only: never the target's prompt, tools' output or secrets.
 */
export async function delegateTurn(
  deps: DelegationDeps,
  from: { profile: AgentProfile; sessionId: string; chain: string[]; approve: TurnLineage["approve"] },
  request: DelegateRequest,
): Promise<DelegateResult> {
  const caller = from.profile;
  const targetId = request.agentId;
  if (!caller.delegateTo.includes(targetId)) {
    throw new AgentError(
      "delegate_refused",
      `agent "${caller.id}" may not delegate to "${targetId}"${caller.delegateTo.length ? ` (allowed: ${caller.delegateTo.join(", ")})` : ""}: list it under agents.${caller.id}.delegate_to`,
    );
  }
  const target = deps.registry().get(targetId);
  if (!target) throw new AgentError("delegate_refused", `agent "${targetId}" does not exist`);
  if (from.chain.includes(targetId)) {
    throw new AgentError(
      "delegate_loop",
      `delegating to "${targetId}" would loop: ${[...from.chain, targetId].join(" → ")}`,
    );
  }
  const depth = from.chain.length;
  if (depth > deps.maxDepth()) {
    throw new AgentError(
      "delegate_depth",
      `delegation is limited to ${deps.maxDepth()} levels (delegation.max_depth): ${[...from.chain, targetId].join(" → ")} is one too many`,
    );
  }
  const sessionId = newSessionId(deps.now());
  const handle = await deps.startTurn(
    {
      agentId: targetId,
      source: {
        platform: "delegate",
        chatType: "dm",
        chatId: from.sessionId,
        userId: caller.id,
        agentId: targetId,
      },
      sessionId,
      sessionKey: `agent:${targetId}:delegate:${sessionId}`,
      history: [],
      input: [{ role: "user", content: request.task }],
      extraSystem: `Agent "${caller.id}" delegated this task to you. Your answer is returned to that agent, not shown to a user.`,
      signal: request.signal,
      // Only the outcome goes back to the delegating agent: the model may answer whole.
      stream: false,
    },
    { chain: [...from.chain, targetId], parentSessionId: from.sessionId, approve: from.approve },
  );
  let text = "";
  let error: string | undefined;
  for await (const ev of handle.events) {
    if (ev.type === "text-delta") text += ev.text;
    else if (ev.type === "finish") text = ev.text || text;
    else if (ev.type === "error") error = ev.message;
  }
  return { agentId: targetId, sessionId: handle.sessionId, text, ...(error ? { error } : {}) };
}
