import type { CommandHandler } from "./context.ts";

/** `/platform status | pause <name> | resume <name>` (admins; the registry checks that). */
export const platform: CommandHandler = (args, ctx) => {
  const op = ctx.operate;
  if (!op) return "Platform control is not available here.";
  const [verb = "status", name] = args.split(/\s+/).filter(Boolean);
  if (verb === "status") {
    const rows = op
      .health()
      .map((h) => `${h.platform}/${h.account}: ${h.state}${h.reason ? ` (${h.reason})` : ""}`);
    return rows.join("\n") || "No platform accounts are running.";
  }
  if ((verb === "pause" || verb === "resume") && name) {
    const hit = verb === "pause" ? op.pause(name) : op.resume(name);
    if (hit.length === 0) return `No running platform account matches "${name}".`;
    return `${verb === "pause" ? "Paused" : "Resumed"} sends of ${hit.join(", ")}.`;
  }
  return "Usage: /platform status | pause <name> | resume <name>";
};
