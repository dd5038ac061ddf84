import type { CommandHandler } from "./context.ts";

const TIER_TEXT = {
  admin: "admin (platforms.<name>.admins)",
  allowed: "allowed (allowed_users / allow_all_users)",
  paired: "paired (approved by the owner)",
  stranger: "stranger",
} as const;

/** `/whoami`: the sender's id on this platform, their tier, and the agent serving this chat. */
export const whoami: CommandHandler = async (_args, ctx) => {
  const { source } = ctx;
  const tier = ctx.tier ? await ctx.tier() : "stranger";
  const where =
    source.account && source.account !== "default" ? `${source.platform}@${source.account}` : source.platform;
  return [
    `Your id: ${source.userId ?? "unknown"} (${where})`,
    `Tier: ${TIER_TEXT[tier]}`,
    `Agent: ${ctx.profile.id}${ctx.profile.name !== ctx.profile.id ? ` (${ctx.profile.name})` : ""}`,
  ].join("\n");
};
