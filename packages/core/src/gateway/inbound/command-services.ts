import type { AgentProfile } from "../../agents.ts";
import type { GatewayConfig } from "../../config/load.ts";
import type { Operations } from "../../operate/operations.ts";
import type { Router } from "../../routing/router.ts";
import type { AgentRunner, Usage } from "../../runner.ts";
import { useAgent } from "../../scope.ts";
import type { SessionStore } from "../../sessions/store-types.ts";
import { chatScope, type ResolvedInbound } from "./resolve.ts";

const SUMMARY_PROMPT = `Summarise the conversation below so that it can be continued from the summary alone.
Keep facts, decisions, names, numbers, open questions and what the user asked for; drop small talk.
Answer with the summary only.

`;

/**
 * `/compress`: one call of the agent's bare model (no tools, no persona) inside its scope, within its turn
 * deadline. It is admitted and accounted like a turn: a used-up budget or a rate limit refuses it (the error's
 * message says so), and its usage is recorded against the session.
 */
export async function summarize(
  deps: { runner: AgentRunner; ops: Operations },
  profile: AgentProfile,
  at: ResolvedInbound,
  sessionId: string,
  transcript: string,
): Promise<string> {
  const party = { agentId: profile.id, platform: at.source.platform, userId: at.source.userId };
  const admission = await deps.ops.admit(party);
  try {
    return await useAgent(profile, () =>
      callModel(deps.runner, profile, at, sessionId, transcript, async (usage) => {
        await deps.ops.record(admission, usage, sessionId);
      }),
    );
  } finally {
    admission.release();
  }
}

/** The bare model's answer to the summary prompt; its usage goes to `onUsage` before it is returned. */
async function callModel(
  runner: AgentRunner,
  profile: AgentProfile,
  at: ResolvedInbound,
  sessionId: string,
  transcript: string,
  onUsage: (usage: Usage) => Promise<void>,
): Promise<string> {
  let text = "";
  for await (const ev of runner.run({
    agent: profile,
    sessionId,
    sessionKey: at.sessionKey,
    source: at.source,
    history: [],
    input: [{ role: "user", content: SUMMARY_PROMPT + transcript }],
    signal: AbortSignal.timeout(profile.turnTimeoutMs),
    plain: true,
  })) {
    if (ev.type === "text-delta") text += ev.text;
    else if (ev.type === "finish") {
      text = ev.text || text;
      await onUsage(ev.usage);
    } else if (ev.type === "error") throw new Error(ev.message);
  }
  return text;
}

/**
 * `/agent <id>` (admins): serve this chat with another agent from its next message, stored per chat (the
 * routed agent again clears the override). Audited as `agent.switch`.
 */
export async function switchAgent(
  deps: { store: SessionStore; config: () => GatewayConfig; router: () => Router },
  at: ResolvedInbound,
  id: string,
  actor: string,
): Promise<string> {
  const registry = deps.config().registry;
  if (!registry.has(id)) return `There is no agent "${id}": use one of ${registry.ids().join(", ")}.`;
  const chat = chatScope(at.source);
  const { agentId: _served, ...source } = at.source;
  const routed = await deps.router().resolve(source);
  if (routed.agentId === id) await deps.store.chatAgents.clear(chat);
  else await deps.store.chatAgents.set(chat, id, actor);
  await deps.store.audit.append({ actor, action: "agent.switch", target: chat, detail: { agent: id } });
  return routed.agentId === id
    ? `This chat is served by its routed agent "${id}" again.`
    : `This chat is now served by agent "${id}" from the next message (/agent ${routed.agentId} switches back).`;
}
