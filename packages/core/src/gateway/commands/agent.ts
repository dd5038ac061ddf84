import type { RouteConfig } from "../../config/schema.ts";
import type { Resolution } from "../../routing/router.ts";
import type { CommandHandler } from "./context.ts";

/** `/agent`: which agent serves this chat, and the rule that chose it; `/agent <id>` (admins) switches it. */
export const agent: CommandHandler = async (args, ctx) => {
  const id = args.trim();
  if (!id)
    return `This chat is served by agent "${ctx.profile.id}": ${describeRule(ctx.resolution, ctx.routes)}.`;
  if (!ctx.operate?.isAdmin()) return "Only admins may switch the agent (platforms.<name>.admins).";
  if (!ctx.switchAgent) return "Switching the agent is not available here.";
  return ctx.switchAgent(id);
};

function describeRule(r: Resolution, routes: readonly RouteConfig[]): string {
  if (r.by === "hook") return `chosen by the plugin "${r.plugin}"`;
  if (r.by === "override") return `switched with /agent by ${r.setBy}`;
  if (r.by === "route" && r.route !== undefined) {
    const route = routes[r.route];
    const match = route
      ? Object.entries(route.match)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
          .join(", ")
      : "";
    return `routes[${r.route}]${route?.name ? ` (${route.name})` : ""} matched: ${match}`;
  }
  return "no route matched: this is the default agent";
}
