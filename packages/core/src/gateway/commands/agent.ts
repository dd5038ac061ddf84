import type { RouteConfig } from "../../config/schema.ts";
import type { Resolution } from "../../routing/router.ts";
import type { CommandHandler } from "./context.ts";

/** `/agent`: which agent serves this chat, and the rule that chose it. */
export const agent: CommandHandler = (_args, ctx) =>
  `This chat is served by agent "${ctx.profile.id}": ${describeRule(ctx.resolution, ctx.routes)}.`;

function describeRule(r: Resolution, routes: readonly RouteConfig[]): string {
  if (r.by === "hook") return `chosen by the plugin "${r.plugin}"`;
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
