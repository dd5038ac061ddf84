import type { NativeCommand } from "../../platform.ts";
import { agent } from "./agent.ts";
import { approve, deny } from "./approve.ts";
import { compress } from "./compress.ts";
import type { CommandContext, CommandHandler } from "./context.ts";
import { helpText } from "./help.ts";
import { retry, undo } from "./history.ts";
import { model } from "./model.ts";
import { newSession } from "./new.ts";
import { pair } from "./pair.ts";
import { platform } from "./platform.ts";
import { resume, sessions } from "./sessions.ts";
import { status } from "./status.ts";
import { stop } from "./stop.ts";
import { usage } from "./usage.ts";
import { whoami } from "./whoami.ts";

export type { CommandContext, CommandHandler, OperateCommands } from "./context.ts";

export type CommandName =
  | "new"
  | "reset"
  | "status"
  | "agent"
  | "model"
  | "whoami"
  | "retry"
  | "undo"
  | "sessions"
  | "resume"
  | "compress"
  | "stop"
  | "approve"
  | "deny"
  | "usage"
  | "platform"
  | "pair"
  | "help";

/** One chat command: what a native command menu shows, who may run it, and what answers it. */
export interface CommandEntry {
  name: CommandName;
  /** One line, shown by `/help` and in platform command menus. */
  description: string;
  /** Only the account's `admins` may run it; everyone else is told so. */
  adminOnly: boolean;
  handler: CommandHandler;
}

/** Every command core answers itself, in `/help` order. */
export const COMMAND_TABLE: readonly CommandEntry[] = [
  { name: "new", description: "start a fresh session", adminOnly: false, handler: newSession },
  {
    name: "reset",
    description: "start a fresh session (same as /new)",
    adminOnly: false,
    handler: newSession,
  },
  {
    name: "status",
    description: "show the agent, model and session of this chat",
    adminOnly: false,
    handler: status,
  },
  {
    name: "agent",
    description: "show which agent serves this chat and why; admins: /agent <id> switches it",
    adminOnly: false,
    handler: agent,
  },
  {
    name: "model",
    description: "show this session's model and the allowed ones; admins: /model <name> switches it",
    adminOnly: false,
    handler: model,
  },
  {
    name: "whoami",
    description: "show your user id, your tier and the agent serving this chat",
    adminOnly: false,
    handler: whoami,
  },
  { name: "retry", description: "run your last message again", adminOnly: false, handler: retry },
  {
    name: "undo",
    description: "drop the last exchange from this session",
    adminOnly: false,
    handler: undo,
  },
  {
    name: "sessions",
    description: "list your recent sessions in this chat",
    adminOnly: false,
    handler: sessions,
  },
  {
    name: "resume",
    description: "continue an earlier session (/resume <n> from /sessions)",
    adminOnly: false,
    handler: resume,
  },
  {
    name: "compress",
    description: "summarise this session into a fresh one",
    adminOnly: false,
    handler: compress,
  },
  { name: "stop", description: "stop the reply being written", adminOnly: false, handler: stop },
  {
    name: "approve",
    description: "let a tool call that waits for approval run (/approve [id])",
    adminOnly: false,
    handler: approve,
  },
  {
    name: "deny",
    description: "refuse a tool call that waits for approval (/deny [id] [reason])",
    adminOnly: false,
    handler: deny,
  },
  {
    name: "usage",
    description: "show the tokens and cost of this session, today and this month",
    adminOnly: false,
    handler: usage,
  },
  {
    name: "platform",
    description: "admins: /platform status | pause <name> | resume <name>",
    adminOnly: true,
    handler: platform,
  },
  {
    name: "pair",
    description: "admins: /pair [list] | approve <code> | deny <code> | revoke <user>",
    adminOnly: true,
    handler: pair,
  },
  {
    name: "help",
    description: "list these commands",
    adminOnly: false,
    handler: () => helpText(COMMAND_TABLE),
  },
];

/** The table as a platform's native command menu shows it (Telegram `setMyCommands`, Discord slash commands). */
export function nativeCommands(table: readonly CommandEntry[] = COMMAND_TABLE): NativeCommand[] {
  return table.map((e) => ({ name: e.name, description: e.description }));
}

const BY_NAME = new Map<string, CommandEntry>(COMMAND_TABLE.map((e) => [e.name, e]));

/** Each command's one-line description, by name. */
export const COMMANDS: { readonly [K in CommandName]: string } = Object.fromEntries(
  COMMAND_TABLE.map((e) => [e.name, e.description]),
) as { readonly [K in CommandName]: string };

export interface ParsedCommand {
  name: CommandName;
  args: string;
}

/** A slash command core answers itself; unknown `/words` are left for the agent. */
export function parseCommand(text: string): ParsedCommand | undefined {
  const m = /^\/([a-z]+)(?:@\S+)?(?:\s+([\s\S]*))?$/i.exec(text.trim());
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  if (!BY_NAME.has(name)) return undefined;
  return { name: name as CommandName, args: (m[2] ?? "").trim() };
}

/** Answer a slash command without a model call. Returns the reply text. */
export async function runCommand(cmd: ParsedCommand, ctx: CommandContext): Promise<string | undefined> {
  const entry = BY_NAME.get(cmd.name);
  if (!entry) return undefined;
  // Fail closed: without admin control (`operate`) nobody is an admin.
  if (entry.adminOnly && !ctx.operate?.isAdmin())
    return `Only admins may use /${entry.name} (platforms.<name>.admins).`;
  return entry.handler(cmd.args, ctx);
}
