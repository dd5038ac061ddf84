import type { AgentProfile } from "../agents.ts";
import type { RouteConfig } from "../config/schema.ts";
import type { Resolution } from "../routing/router.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { SessionRecord, SessionStore } from "../sessions/store-types.ts";

export const COMMANDS = {
  new: "start a fresh session",
  reset: "start a fresh session (same as /new)",
  status: "show the agent, model and session of this chat",
  agent: "show which agent serves this chat and why",
  stop: "stop the reply being written",
  approve: "let a tool call that waits for approval run (/approve [id])",
  deny: "refuse a tool call that waits for approval (/deny [id] [reason])",
  usage: "show the tokens and cost spent today and this month",
  platform: "admins: /platform status | pause <name> | resume <name>",
  help: "list these commands",
} as const;
export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  name: CommandName;
  args: string;
}

/** A slash command core answers itself; unknown `/words` are left for the agent. */
export function parseCommand(text: string): ParsedCommand | undefined {
  const m = /^\/([a-z]+)(?:@\S+)?(?:\s+([\s\S]*))?$/i.exec(text.trim());
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  if (!Object.hasOwn(COMMANDS, name)) return undefined;
  return { name: name as CommandName, args: (m[2] ?? "").trim() };
}

export interface CommandContext {
  profile: AgentProfile;
  resolution: Resolution;
  sessionKey: string;
  source: SessionSource;
  store: SessionStore;
  routes: readonly RouteConfig[];
  openSession(options?: { forceNew?: boolean }): Promise<SessionRecord>;
  /** Abort the running turn of this session; false when none runs. */
  stop(): boolean;
  /** Answer a pending approval of this chat (`args`: `[id] [reason]`); returns the reply. */
  answerApproval?(approved: boolean, args: string): string;
  /** Usage and admin platform control (`/usage`, `/platform`). */
  operate?: OperateCommands;
}

export interface OperateCommands {
  usage(): Promise<string>;
  isAdmin(): boolean;
  /** Pause / resume the sends of matching accounts (`telegram` or `telegram/work`); returns them. */
  pause(name: string): string[];
  resume(name: string): string[];
  health(): Array<{ platform: string; account: string; state: string; reason?: string }>;
}

function platformCommand(args: string, op: OperateCommands): string {
  if (!op.isAdmin()) return "Only admins may use /platform (platforms.<name>.admins).";
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
}

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

/** Answer a slash command without a model call. Returns the reply text. */
export async function runCommand(cmd: ParsedCommand, ctx: CommandContext): Promise<string | undefined> {
  switch (cmd.name) {
    case "new":
    case "reset": {
      const s = await ctx.openSession({ forceNew: true });
      return `Started a new session (${s.id}) with ${ctx.profile.name}.`;
    }
    case "status": {
      const s = (await ctx.store.findActive(ctx.sessionKey)) ?? (await ctx.openSession());
      const model = `${ctx.profile.provider.name}${ctx.profile.model.name ? `/${ctx.profile.model.name}` : ""}`;
      return [
        `Agent: ${ctx.profile.id}`,
        `Model: ${model}`,
        `Session: ${s.id}`,
        `Messages: ${s.messageCount}`,
        `Tokens: ${s.inputTokens} in / ${s.outputTokens} out`,
      ].join("\n");
    }
    case "agent":
      return `This chat is served by agent "${ctx.profile.id}": ${describeRule(ctx.resolution, ctx.routes)}.`;
    case "stop":
      return ctx.stop() ? "Stopped." : "Nothing is running.";
    case "approve":
    case "deny":
      return ctx.answerApproval?.(cmd.name === "approve", cmd.args) ?? "Nothing is waiting for approval.";
    case "usage":
      return (await ctx.operate?.usage()) || "No usage is recorded yet.";
    case "platform":
      return ctx.operate ? platformCommand(cmd.args, ctx.operate) : "Platform control is not available here.";
    case "help":
      return Object.entries(COMMANDS)
        .map(([k, v]) => `/${k} — ${v}`)
        .join("\n");
  }
}
