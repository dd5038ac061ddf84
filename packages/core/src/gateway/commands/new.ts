import type { CommandHandler } from "./context.ts";

/** `/new` and `/reset`: close the chat's session and open a fresh one. */
export const newSession: CommandHandler = async (_args, ctx) => {
  const s = await ctx.openSession({ forceNew: true });
  return `Started a new session (${s.id}) with ${ctx.profile.name}.`;
};
