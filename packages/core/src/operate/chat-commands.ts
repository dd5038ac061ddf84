import type { OperateCommands } from "../gateway/commands/registry.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { Operations } from "./operations.ts";

/**
 * Pause or resume the sends of every matching account (`telegram` or `telegram/work`), in the audit log:
 * the chat's `/platform pause|resume` and the console both go through here. `accounts`: the accounts hit;
 * `audited` resolves once the audit entry is written.
 */
export function controlPlatform(
  ops: Operations,
  action: "pause" | "resume",
  name: string,
  actor: string,
): { accounts: string[]; audited: Promise<void> } {
  const accounts = action === "pause" ? ops.pause(name, actor) : ops.resume(name);
  const audited = ops.audit({ actor, action: `platform.${action}`, target: name, detail: { accounts } });
  return { accounts, audited };
}

/** What `/usage` and `/platform` do for one chat message (admin pauses and resumes are audited). */
export function operateCommands(
  ops: Operations,
  args: { agentId: string; source: SessionSource; actor: string; isAdmin: boolean },
): OperateCommands {
  return {
    usage: () =>
      ops.usageReport({ agentId: args.agentId, platform: args.source.platform, userId: args.source.userId }),
    isAdmin: () => args.isAdmin,
    pause: (name) => controlPlatform(ops, "pause", name, args.actor).accounts,
    resume: (name) => controlPlatform(ops, "resume", name, args.actor).accounts,
    health: () => ops.adapters(),
  };
}
