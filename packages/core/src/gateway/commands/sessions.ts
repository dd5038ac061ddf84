import type { SessionRecord } from "../../sessions/store-types.ts";
import type { CommandContext, CommandHandler } from "./context.ts";

const SHOWN = 10;
const SCAN = 500;

/** This chat's sessions with this agent (the same session key: this user, this chat), newest first. */
async function recentSessions(ctx: CommandContext): Promise<SessionRecord[]> {
  const rows = await ctx.store.list({ agentId: ctx.profile.id, includeEnded: true, limit: SCAN });
  return rows
    .filter((s) => s.sessionKey === ctx.sessionKey)
    .sort((a, b) => b.updatedAt - a.updatedAt || b.startedAt - a.startedAt)
    .slice(0, SHOWN);
}

async function describe(ctx: CommandContext, s: SessionRecord): Promise<string> {
  let title = s.title;
  if (!title) {
    const first = (await ctx.store.history(s.id, 1000)).find((m) => m.role === "user" || m.role === "system");
    title = first ? first.content.replace(/\s+/g, " ").slice(0, 40) : "(empty)";
  }
  const day = new Date(s.updatedAt).toISOString().slice(0, 16).replace("T", " ");
  return `${title} — ${s.messageCount} messages, ${day} UTC${s.endedAt === null ? " (current)" : ""}`;
}

/** `/sessions`: this chat's recent sessions with this agent, numbered for `/resume`. */
export const sessions: CommandHandler = async (_args, ctx) => {
  const list = await recentSessions(ctx);
  if (list.length === 0) return "No sessions yet.";
  const lines = await Promise.all(list.map(async (s, i) => `${i + 1}. ${await describe(ctx, s)}`));
  return `${lines.join("\n")}\n/resume <n> continues one.`;
};

/** `/resume <n>`: continue the n-th session of `/sessions` (the current one is set aside, not lost). */
export const resume: CommandHandler = async (args, ctx) => {
  if (ctx.busy?.()) return "A reply is being written: wait for it or /stop it first.";
  const n = Number(args.trim());
  const list = await recentSessions(ctx);
  if (!Number.isInteger(n) || n < 1 || n > list.length)
    return list.length ? `Usage: /resume <1-${list.length}> (see /sessions).` : "No sessions to resume.";
  const target = list[n - 1]!;
  if (target.endedAt === null) return "That is the current session.";
  const s = await ctx.store.resume(target.id);
  return `Resumed: ${await describe(ctx, s)}`;
};
