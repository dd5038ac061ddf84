import type { AgentProfile } from "../agents.ts";
import { type ApprovalBroker, approvalChat, approvalPrompt } from "../approvals.ts";
import type { Logger } from "../logger.ts";
import type { Address, InboundMessage, OutboundAction } from "../platform.ts";
import type { AgentEvent, ApprovalDecision, ApprovalRequest } from "../runner.ts";

/** How a turn asks for approval, decided by where it came from. */
export type ApprovalRoute =
  /** A chat turn: post the prompt (with buttons) where the message came from; the user or an admin answers. */
  | { kind: "chat"; address: Address; requester: string }
  /** An API run: the `approval.required` event; `POST /v1/runs/{id}/approve|deny` answers. */
  | { kind: "events" }
  /** Nobody can answer (cron, a plain API call): deny at once. */
  | { kind: "deny"; by: "cron" | "unattended" }
  /** A delegated turn: ask whoever answers for the caller's turn. */
  | { kind: "parent"; approve: (request: ApprovalRequest) => Promise<ApprovalDecision> };

export interface ApproverDeps {
  broker: ApprovalBroker;
  profile: AgentProfile;
  sessionId: string;
  route: ApprovalRoute;
  /** The turn's event channel: approval events go to whoever watches the turn. */
  emit: (event: AgentEvent) => void;
  signal: AbortSignal;
  post: (address: Address, text: string, actions?: OutboundAction[]) => Promise<void>;
  logger: Logger;
}

/** The `approve` service of one turn. */
export function createApprover(d: ApproverDeps): (request: ApprovalRequest) => Promise<ApprovalDecision> {
  return async (request) => {
    const agentId = request.agentId ?? d.profile.id;
    const route = d.route;
    if (route.kind === "parent") return route.approve({ ...request, agentId });
    const base = { type: "approval" as const, toolName: request.toolName, input: request.input };
    if (route.kind === "deny") {
      const decision: ApprovalDecision = { approved: false, by: route.by };
      d.emit({ ...base, status: "denied", approvalId: "", by: route.by });
      d.logger.info({ agent: agentId, tool: request.toolName }, `approval denied at once (${route.by})`);
      return decision;
    }
    const { approval, decision } = d.broker.request(
      {
        agentId,
        sessionId: d.sessionId,
        toolName: request.toolName,
        input: request.input,
        ...(route.kind === "chat" ? { chat: approvalChat(route.address), requester: route.requester } : {}),
      },
      { timeoutMs: d.profile.approvalTimeoutMs, signal: d.signal },
    );
    d.emit({ ...base, status: "required", approvalId: approval.id });
    if (route.kind === "chat") {
      const onBehalf = agentId !== d.profile.id ? d.profile.id : undefined;
      await d
        .post(route.address, approvalPrompt(approval, onBehalf), [
          { label: "Approve", command: `/approve ${approval.id}`, style: "primary" },
          { label: "Deny", command: `/deny ${approval.id}`, style: "danger" },
        ])
        .catch((err: unknown) =>
          d.logger.error({ err, agent: agentId }, "could not post the approval prompt"),
        );
    }
    const answer = await decision;
    d.emit({
      ...base,
      status: answer.approved ? "approved" : "denied",
      approvalId: approval.id,
      by: answer.by,
      ...(answer.reason ? { reason: answer.reason } : {}),
    });
    if (route.kind === "chat" && answer.by === "timeout") {
      await d
        .post(route.address, `⌛ ${request.toolName} (${approval.id}) was denied: ${answer.reason}.`)
        .catch(() => undefined);
    }
    return answer;
  };
}

/** Answer `/approve [id]` or `/deny [id] [reason]` from a chat; returns the reply. */
export function answerFromChat(o: {
  broker: ApprovalBroker;
  inbound: InboundMessage;
  /** Whether the user answering is an admin of the platform account (`platforms.<name>.admins`). */
  isAdmin: boolean;
  approved: boolean;
  args: string;
}): string {
  const chat = approvalChat({
    platform: o.inbound.platform,
    account: o.inbound.account,
    chatId: o.inbound.chat.id,
    ...(o.inbound.threadId ? { threadId: o.inbound.threadId } : {}),
  });
  const words = o.args.split(/\s+/).filter(Boolean);
  const named = words[0] ? o.broker.get(words[0]) : undefined;
  const pending = o.broker.pending({ chat });
  if (words[0] && !named && o.approved) return `Nothing with id ${words[0]} is waiting for approval here.`;
  const target = named ?? pending[0];
  // An id from another chat is not answerable here, whoever knows it.
  if (!target || target.chat !== chat) return "Nothing is waiting for approval here.";
  const user = o.inbound.user;
  const allowed = target.requester === user.id || o.isAdmin;
  if (!allowed) return "Only the user who asked, or an admin, may answer this.";
  const reason = (named ? words.slice(1) : words).join(" ");
  o.broker.resolve(target.id, {
    approved: o.approved,
    by: `${o.inbound.platform}:${user.id}`,
    ...(reason && !o.approved ? { reason } : {}),
  });
  return o.approved
    ? `✅ Approved: ${target.toolName} runs now.`
    : `🚫 Denied: ${target.toolName} will not run.`;
}
