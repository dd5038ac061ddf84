import type { CommandHandler } from "./context.ts";

/** `/usage`: the tokens and cost spent today and this month. */
export const usage: CommandHandler = async (_args, ctx) =>
  (await ctx.operate?.usage()) || "No usage is recorded yet.";
