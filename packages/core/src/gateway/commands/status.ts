import type { CommandHandler } from "./context.ts";

/** `/status`: the agent, model and session of this chat (opening the session when there is none). */
export const status: CommandHandler = async (_args, ctx) => {
  const s = (await ctx.store.findActive(ctx.sessionKey)) ?? (await ctx.openSession());
  const model = `${ctx.profile.provider.name}${ctx.profile.model.name ? `/${ctx.profile.model.name}` : ""}`;
  return [
    `Agent: ${ctx.profile.id}`,
    `Model: ${model}`,
    `Session: ${s.id}`,
    `Messages: ${s.messageCount}`,
    `Tokens: ${s.inputTokens} in / ${s.outputTokens} out`,
  ].join("\n");
};
