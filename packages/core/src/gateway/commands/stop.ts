import type { CommandHandler } from "./context.ts";

/** `/stop`: abort the reply being written (and drop the messages queued behind it). */
export const stop: CommandHandler = (_args, ctx) => (ctx.stop() ? "Stopped." : "Nothing is running.");
