import type { OperateCommands } from "../gateway/commands/registry.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { Operations } from "./operations.ts";

/** What `/usage` and `/platform` do for one chat message (admin pauses and resumes are audited). */
export function operateCommands(
  ops: Operations,
  args: { agentId: string; source: SessionSource; actor: string; isAdmin: boolean },
): OperateCommands {
  const control = (action: "platform.pause" | "platform.resume", name: string) => {
    const hit = action === "platform.pause" ? ops.pause(name, args.actor) : ops.resume(name);
    ops.audit({ actor: args.actor, action, target: name, detail: { accounts: hit } });
    return hit;
  };
  return {
    usage: () =>
      ops.usageReport({ agentId: args.agentId, platform: args.source.platform, userId: args.source.userId }),
    isAdmin: () => args.isAdmin,
    pause: (name) => control("platform.pause", name),
    resume: (name) => control("platform.resume", name),
    health: () => ops.adapters(),
  };
}
