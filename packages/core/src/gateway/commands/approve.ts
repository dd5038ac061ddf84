import type { CommandHandler } from "./context.ts";

const none = "Nothing is waiting for approval.";

/** `/approve [id]`: let a tool call that waits for approval run. */
export const approve: CommandHandler = (args, ctx) => ctx.answerApproval?.(true, args) ?? none;

/** `/deny [id] [reason]`: refuse a tool call that waits for approval. */
export const deny: CommandHandler = (args, ctx) => ctx.answerApproval?.(false, args) ?? none;
