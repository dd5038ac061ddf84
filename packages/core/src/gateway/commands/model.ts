import { allowedModels, findAllowedModel, modelLabel, profileForSession } from "../../agents.ts";
import type { CommandHandler } from "./context.ts";

/**
 * `/model [name]`: the model this session runs on and the agent's allowed models (`agents.<id>.model` and
 * `agents.<id>.models`); with a name, admins switch this session to it (the registry checks admin for args).
 */
export const model: CommandHandler = async (args, ctx) => {
  const session = (await ctx.store.findActive(ctx.sessionKey)) ?? (await ctx.openSession());
  const current = modelLabel(profileForSession(ctx.profile, session).model);
  const all = allowedModels(ctx.profile);
  const name = args.trim();
  if (!name) {
    const list = all.map((m) => `${m.label === current ? "• " : "  "}${m.label}`).join("\n");
    const how = all.length > 1 ? "\nAdmins switch with /model <name>." : "";
    return `This session runs on ${current}. Allowed models of ${ctx.profile.id}:\n${list}${how}`;
  }
  if (!ctx.operate?.isAdmin()) return "Only admins may switch the model (platforms.<name>.admins).";
  const chosen = findAllowedModel(ctx.profile, name);
  if (!chosen)
    return `"${name}" is not one of ${ctx.profile.id}'s models (${all.map((m) => m.label).join(", ")}): add it to agents.${ctx.profile.id}.models.`;
  await ctx.store.setModel(session.id, chosen.label);
  return `This session now runs on ${chosen.label}.`;
};
