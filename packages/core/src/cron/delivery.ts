import type { AgentProfile } from "../agents.ts";
import type { Address, ChatType } from "../platform.ts";
import { DEFAULT_ACCOUNT } from "../platform.ts";
import type { Router } from "../routing/router.ts";
import type { JobOrigin } from "./jobs.ts";

export type DeliveryTargetSpec =
  | { kind: "origin" }
  | { kind: "local" }
  | { kind: "chat"; platform: string; account: string; chatId: string; threadId?: string };

export class DeliveryError extends Error {
  override name = "DeliveryError";
}

const FORMS =
  "origin, local, or <platform>[@account]:<chat_id>[:<thread_id>] (e.g. telegram@support:-1001234:7)";

/** Parse `origin` | `local` | `<platform>[@account]:<chat_id>[:<thread_id>]`. Matrix room ids keep their `:server`. */
export function parseDeliveryTarget(text: string): DeliveryTargetSpec {
  const t = text.trim();
  if (t === "origin" || t === "") return { kind: "origin" };
  if (t === "local") return { kind: "local" };
  const m = /^([a-z0-9][a-z0-9_-]*)(?:@([a-z0-9][a-z0-9_-]*))?:(.+)$/.exec(t);
  if (!m) throw new DeliveryError(`invalid delivery target "${text}": use ${FORMS}`);
  const [, platform, account, rest] = m as unknown as [string, string, string | undefined, string];
  const parts = rest.split(":");
  // A Matrix room id is `!room:server`; its thread (an event id `$…`) may follow.
  const chatParts = platform === "matrix" && parts.length >= 2 ? 2 : 1;
  const chatId = parts.slice(0, chatParts).join(":");
  const threadId = parts.slice(chatParts).join(":") || undefined;
  if (!chatId)
    throw new DeliveryError(`invalid delivery target "${text}": the chat id is missing; use ${FORMS}`);
  return {
    kind: "chat",
    platform,
    account: account ?? DEFAULT_ACCOUNT,
    chatId,
    ...(threadId ? { threadId } : {}),
  };
}

export function formatTarget(a: {
  platform: string;
  account?: string;
  chatId: string;
  threadId?: string;
}): string {
  const acc = a.account && a.account !== DEFAULT_ACCOUNT ? `@${a.account}` : "";
  return `${a.platform}${acc}:${a.chatId}${a.threadId ? `:${a.threadId}` : ""}`;
}

function sameChat(
  a: JobOrigin,
  b: { platform: string; account: string; chatId: string; threadId?: string },
): boolean {
  return (
    a.platform === b.platform &&
    (a.account ?? DEFAULT_ACCOUNT) === b.account &&
    a.chatId === b.chatId &&
    (a.threadId ?? undefined) === (b.threadId ?? undefined)
  );
}

/**
 * Whether `agent` may deliver to a target: its origin chat, a chat that routes to it, or a target listed in
 * its `cron.allowed_targets`. Anything else is refused with the reason.
 */
export function authorizeTarget(
  agent: AgentProfile,
  spec: DeliveryTargetSpec,
  origin: JobOrigin | undefined,
  router: Router,
): void {
  if (spec.kind === "local") return;
  if (spec.kind === "origin") {
    if (!origin)
      throw new DeliveryError(
        'deliver "origin" needs a job created from a chat; use local or a <platform>:<chat_id> target',
      );
    return;
  }
  if (origin && sameChat(origin, spec)) return;
  const text = formatTarget(spec);
  if (agent.cron.allowedTargets.includes(text)) return;
  const types: ChatType[] = spec.threadId ? ["thread", "group"] : ["dm", "group", "channel"];
  const owners = new Set<string>();
  for (const chatType of types) {
    owners.add(
      router.match({
        platform: spec.platform,
        account: spec.account,
        chatId: spec.chatId,
        chatType,
        ...(spec.threadId ? { threadId: spec.threadId } : {}),
      }).agentId,
    );
  }
  if (owners.has(agent.id)) return;
  // The message does not name the agent the chat routes to: whoever asks may not be allowed to know it exists.
  throw new DeliveryError(
    `agent "${agent.id}" may not deliver to ${text}: that chat does not route to "${agent.id}". ` +
      `Deliver to a chat that routes to "${agent.id}", to the origin, or add "${text}" to agents.${agent.id}.cron.allowed_targets`,
  );
}

/** The address a job delivers to, or undefined for local-only. */
export function resolveAddress(spec: DeliveryTargetSpec, origin: JobOrigin | undefined): Address | undefined {
  if (spec.kind === "local") return undefined;
  if (spec.kind === "origin") {
    if (
      !origin ||
      origin.platform === "api_server" ||
      origin.platform === "cron" ||
      origin.platform === "cli"
    )
      return undefined;
    return {
      platform: origin.platform,
      account: origin.account ?? DEFAULT_ACCOUNT,
      chatId: origin.chatId,
      ...(origin.chatType ? { chatType: origin.chatType } : {}),
      ...(origin.threadId ? { threadId: origin.threadId } : {}),
    };
  }
  return {
    platform: spec.platform,
    account: spec.account,
    chatId: spec.chatId,
    ...(spec.threadId ? { threadId: spec.threadId } : {}),
  };
}

/**
 * The check made again at delivery time, against the routes (and `selectAgent` plugins) in force now: a job
 * written into `jobs.json` by hand, or approved before its chat was re-routed, must not reach another agent's
 * chat. The address must route to the agent or be listed in its `cron.allowed_targets`; returns why not.
 */
export async function deliveryRefusal(
  agent: AgentProfile,
  address: Address,
  router: Router,
  /** The job's origin: when the address is its chat, its user and guild ids route as the turn did. */
  jobOrigin?: JobOrigin,
): Promise<string | undefined> {
  const origin =
    jobOrigin && sameChat(jobOrigin, { ...address, account: address.account ?? DEFAULT_ACCOUNT })
      ? jobOrigin
      : undefined;
  const text = formatTarget(address);
  if (agent.cron.allowedTargets.includes(text)) return undefined;
  const types: ChatType[] = address.chatType
    ? [address.chatType]
    : address.threadId
      ? ["thread", "group"]
      : ["dm", "group", "channel"];
  const owners = new Set<string>();
  for (const chatType of types) {
    const r = await router.resolve({
      platform: address.platform,
      account: address.account ?? DEFAULT_ACCOUNT,
      chatId: address.chatId,
      chatType,
      ...(address.threadId ? { threadId: address.threadId } : {}),
      ...(origin?.topicId ? { topicId: origin.topicId } : {}),
      ...(origin?.parentChatId ? { parentChatId: origin.parentChatId } : {}),
      ...(origin?.guildId ? { guildId: origin.guildId } : {}),
      ...(origin?.userId ? { userId: origin.userId } : {}),
      ...(origin?.userIdAlt ? { userIdAlt: origin.userIdAlt } : {}),
    });
    owners.add(r.agentId);
  }
  if (owners.has(agent.id)) return undefined;
  return (
    `delivery to ${text} refused: that chat now routes to ${[...owners].map((o) => `"${o}"`).join(", ")}, not "${agent.id}". ` +
    `Re-route the chat to "${agent.id}", change the job's deliver target, or add "${text}" to agents.${agent.id}.cron.allowed_targets`
  );
}
