import { randomBytes } from "node:crypto";
import type { ApprovalDecision } from "./runner.ts";

/** A tool call waiting for a human. */
export interface PendingApproval {
  /** Short, so it can be typed: `/approve 3f9a1c`. */
  id: string;
  agentId: string;
  sessionId: string;
  toolName: string;
  input: unknown;
  /** Where the prompt was posted (`<platform>/<account>/<chat>[/<thread>]`); only answers from there count. */
  chat?: string;
  /** The platform user who started the turn: they (or an admin) may answer. */
  requester?: string;
  createdAt: number;
  expiresAt: number;
}

interface Entry {
  approval: PendingApproval;
  settle: (decision: ApprovalDecision) => void;
}

/**
 * Pending approvals of tool calls: a call registers and waits; `/approve`, `/deny`, a Telegram button or
 * `POST /v1/runs/{id}/approve` settles it; the timeout (or the turn's abort) denies it.
 */
export class ApprovalBroker {
  readonly #pending = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #onDecision: ((approval: PendingApproval, decision: ApprovalDecision) => void) | undefined;

  /** `onDecision` sees every settled call (an answer, a timeout, an abort), e.g. for the audit log. */
  constructor(
    options: {
      now?: () => number;
      onDecision?: (approval: PendingApproval, decision: ApprovalDecision) => void;
    } = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#onDecision = options.onDecision;
  }

  /** Register a call and wait for its answer; the promise always resolves (a timeout or abort denies). */
  request(
    fields: Omit<PendingApproval, "id" | "createdAt" | "expiresAt">,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): { approval: PendingApproval; decision: Promise<ApprovalDecision> } {
    let id = randomBytes(3).toString("hex");
    while (this.#pending.has(id)) id = randomBytes(3).toString("hex");
    const now = this.#now();
    const approval: PendingApproval = { ...fields, id, createdAt: now, expiresAt: now + options.timeoutMs };
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () =>
      this.resolve(id, { approved: false, by: "aborted", reason: "the turn was stopped" });
    const decision = new Promise<ApprovalDecision>((resolve) => {
      this.#pending.set(id, {
        approval,
        settle: (d) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          this.#pending.delete(id);
          resolve(d);
        },
      });
    });
    timer = setTimeout(
      () =>
        this.resolve(id, {
          approved: false,
          by: "timeout",
          reason: `no answer within ${seconds(options.timeoutMs)} s`,
        }),
      options.timeoutMs,
    );
    timer.unref?.();
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    return { approval, decision };
  }

  /** Answer a pending call; false when it is not pending (answered, expired, unknown). */
  resolve(id: string, decision: ApprovalDecision): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return false;
    entry.settle(decision);
    this.#onDecision?.(entry.approval, decision);
    return true;
  }

  get(id: string): PendingApproval | undefined {
    return this.#pending.get(id)?.approval;
  }

  /** Pending calls, oldest first, optionally only those posted to one chat or of one session. */
  pending(filter: { chat?: string; sessionId?: string } = {}): PendingApproval[] {
    return [...this.#pending.values()]
      .map((e) => e.approval)
      .filter(
        (a) =>
          (filter.chat === undefined || a.chat === filter.chat) &&
          (filter.sessionId === undefined || a.sessionId === filter.sessionId),
      );
  }

  /** Deny everything still pending (shutdown). */
  denyAll(reason: string): void {
    for (const id of [...this.#pending.keys()]) this.resolve(id, { approved: false, by: "shutdown", reason });
  }
}

/** The chat key of approvals posted to an address. */
export function approvalChat(a: {
  platform: string;
  account: string;
  chatId: string;
  threadId?: string;
}): string {
  return [a.platform, a.account, a.chatId, ...(a.threadId ? [a.threadId] : [])].join("/");
}

const MAX_ARGS = 300;

/** The prompt text: tool, arguments (short), and how to answer. */
export function approvalPrompt(approval: PendingApproval, onBehalf?: string): string {
  let args: string;
  try {
    args = JSON.stringify(approval.input) ?? "{}";
  } catch {
    args = String(approval.input);
  }
  if (args.length > MAX_ARGS) args = `${args.slice(0, MAX_ARGS)}…`;
  const who = onBehalf
    ? `Agent "${approval.agentId}" (asked by "${onBehalf}")`
    : `Agent "${approval.agentId}"`;
  const secs = seconds(approval.expiresAt - approval.createdAt);
  return `🔐 ${who} wants to run ${approval.toolName} ${args}\nReply /approve ${approval.id} or /deny ${approval.id} (denied automatically in ${secs} s).`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1);
}
