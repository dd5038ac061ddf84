import type { AgentTool, ToolContext } from "./types.ts";
import { ToolError } from "./types.ts";

/** Whether a call of `t` waits for a human: listed under the agent's `approval:` or its MCP server's. */
export function needsApproval(t: AgentTool, ctx: ToolContext): boolean {
  return t.requiresApproval === true || ctx.agent.approval.includes(t.name);
}

/**
 * Hold a call that needs approval until a human answers. A denial (or a timeout, or a turn nobody can
 * answer, such as cron) becomes a tool error the model reads, so it can tell the user what did not happen.
 */
export async function approvalGate(t: AgentTool, input: unknown, ctx: ToolContext): Promise<void> {
  if (!needsApproval(t, ctx)) return;
  const approve = ctx.turn.services?.approve;
  if (!approve)
    throw new ToolError(
      `${t.name} needs a human's approval and nobody can approve it here; it did not run`,
      "approval_denied",
    );
  const decision = await approve({ toolName: t.name, input, ...(t.mcp ? { server: t.mcp.server } : {}) });
  if (decision.approved) return;
  const why =
    decision.by === "timeout"
      ? "nobody approved it in time"
      : decision.by === "cron"
        ? "scheduled (cron) runs never wait for approval"
        : decision.by === "unattended"
          ? "nobody can approve calls on this channel"
          : `denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : ""}`;
  throw new ToolError(`${t.name} was not run: ${why}`, "approval_denied");
}
