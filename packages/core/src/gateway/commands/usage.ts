import type { CommandHandler } from "./context.ts";

/** `/usage`: the tokens and cost of this session, then today's and this month's spend. */
export const usage: CommandHandler = async (_args, ctx) => {
  const lines: string[] = [];
  const session = await ctx.store.findActive(ctx.sessionKey);
  if (session) {
    const rows = await ctx.store.usage.summary({
      agentId: ctx.profile.id,
      since: session.startedAt,
      groupBy: ["session"],
      limit: 10_000,
    });
    const cost = rows.find((r) => r.session === session.id)?.costUsd ?? 0;
    const tokens = session.inputTokens + session.outputTokens;
    lines.push(
      `This session: ${tokens.toLocaleString("en-US")} tokens (${session.inputTokens} in / ${session.outputTokens} out), $${cost.toFixed(4)}`,
    );
  }
  const spend = await ctx.operate?.usage();
  if (spend) lines.push(spend);
  return lines.join("\n") || "No usage is recorded yet.";
};
