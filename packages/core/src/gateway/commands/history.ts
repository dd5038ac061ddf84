import type { SessionRecord, StoredMessage } from "../../sessions/store-types.ts";
import type { CommandContext, CommandHandler } from "./context.ts";

const BUSY = "A reply is being written: wait for it or /stop it first.";
const LOOKBACK = 200;

/** The session's last user message and what came before it, or `undefined` when it has none. */
async function lastExchange(
  ctx: CommandContext,
): Promise<{ session: SessionRecord; user: StoredMessage; before: number } | undefined> {
  const session = await ctx.store.findActive(ctx.sessionKey);
  if (!session) return undefined;
  const rows = await ctx.store.history(session.id, LOOKBACK);
  const at = rows.findLastIndex((m) => m.role === "user");
  if (at < 0) return undefined;
  return { session, user: rows[at]!, before: at > 0 ? rows[at - 1]!.id : 0 };
}

/** `/undo`: drop the last exchange (the last user message and everything after it) from this session. */
export const undo: CommandHandler = async (_args, ctx) => {
  if (ctx.busy?.()) return BUSY;
  const last = await lastExchange(ctx);
  if (!last) return "Nothing to undo.";
  const removed = await ctx.store.rewind(last.session.id, last.before);
  const text = last.user.content.length > 60 ? `${last.user.content.slice(0, 57)}…` : last.user.content;
  return `Undone: "${text}" and ${removed - 1} message${removed === 2 ? "" : "s"} after it.`;
};

/** `/retry`: drop the reply to the last user message and run that message again. */
export const retry: CommandHandler = async (_args, ctx) => {
  if (ctx.busy?.()) return BUSY;
  if (!ctx.rerun) return "Retry is not available here.";
  const last = await lastExchange(ctx);
  if (!last) return "Nothing to retry: this session has no message yet.";
  await ctx.store.rewind(last.session.id, last.user.id);
  ctx.rerun(last.session, last.user);
  // The new reply is the answer: an empty reply sends nothing.
  return "";
};
