import { toChatMessages } from "../turn.ts";
import type { CommandHandler } from "./context.ts";

const LOOKBACK = 500;

/**
 * `/compress`: summarise this session's history with the agent's model and continue in a fresh session that
 * starts from the summary (the old session is ended, not deleted).
 */
export const compress: CommandHandler = async (_args, ctx) => {
  if (ctx.busy?.()) return "A reply is being written: wait for it or /stop it first.";
  if (!ctx.summarize) return "Compress is not available here.";
  const session = await ctx.store.findActive(ctx.sessionKey);
  const rows = session ? toChatMessages(await ctx.store.history(session.id, LOOKBACK)) : [];
  if (!session || rows.length === 0) return "Nothing to compress: this session has no messages yet.";
  const transcript = rows
    .map((m) => `${m.role}: ${typeof m.content === "string" ? m.content : ""}`)
    .join("\n\n");
  let summary: string;
  try {
    summary = (await ctx.summarize(session.id, transcript)).trim();
  } catch (err) {
    return `Could not compress: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!summary) return "Could not compress: the model returned no summary.";
  const fresh = await ctx.openSession({ forceNew: true });
  await ctx.store.append(fresh.id, [
    { role: "system", content: `Summary of the earlier conversation (session ${session.id}):\n${summary}` },
  ]);
  return `Compressed ${rows.length} messages into a new session (${fresh.id}).`;
};
