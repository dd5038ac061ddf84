import type { AgentProfile } from "../../agents.ts";
import type { GatewayConfig } from "../../config/load.ts";
import type { Address, InboundMessage } from "../../platform.ts";
import type { Resolution, Router } from "../../routing/router.ts";
import { buildSessionKey, type SessionKeyOptions } from "../../sessions/key.ts";
import type { ChatAgentTable } from "../../sessions/pairing-store.ts";
import { type SessionSource, sourceOf } from "../../sessions/source.ts";
import { replyAddress } from "../delivery.ts";

/** Where a message goes: the agent the router chose, its session key and the reply address. */
export interface ResolvedInbound {
  source: SessionSource;
  resolution: Resolution;
  /** How its routing went, for the turn's trace. */
  routed: { startedAt: number; durationMs: number; by: string };
  profile: AgentProfile;
  sessionKey: string;
  address: Address;
}

/** How the config scopes sessions in groups and threads. */
export function sessionOptions(config: GatewayConfig): SessionKeyOptions {
  return { groupPerUser: config.session.group_per_user, threadPerUser: config.session.thread_per_user };
}

/** The chat an `/agent <id>` override applies to: `telegram:-100123`, `telegram@work:-100123:7` (thread). */
export function chatScope(source: SessionSource): string {
  const where =
    source.account && source.account !== "default" ? `${source.platform}@${source.account}` : source.platform;
  return `${where}:${source.chatId ?? ""}${source.threadId ? `:${source.threadId}` : ""}`;
}

/** Route a message that passed the gate, and derive its session key (the config read after routing). */
export async function resolveInbound(
  inbound: InboundMessage,
  deps: { router: () => Router; config: () => GatewayConfig; overrides?: Pick<ChatAgentTable, "get"> },
): Promise<ResolvedInbound> {
  const source = sourceOf(inbound);
  const routeStarted = Date.now();
  const routeT0 = performance.now();
  // An admin's `/agent <id>` for this chat comes first, while that agent exists.
  const override = await deps.overrides?.get(chatScope(source));
  const resolution: Resolution =
    override && deps.config().registry.has(override.agentId)
      ? { agentId: override.agentId, by: "override", setBy: override.setBy }
      : await deps.router().resolve(source, inbound);
  const routed = { startedAt: routeStarted, durationMs: performance.now() - routeT0, by: resolution.by };
  source.agentId = resolution.agentId;
  const config = deps.config();
  const profile = config.registry.get(resolution.agentId) ?? config.registry.main;
  const sessionKey = buildSessionKey(source, sessionOptions(config));
  return { source, resolution, routed, profile, sessionKey, address: replyAddress(inbound) };
}
