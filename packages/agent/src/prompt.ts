import { join } from "node:path";
import type { AgentProfile, SessionSource } from "@switchboard/core";
import { readCachedText } from "./files.ts";
import { agentDirs, insideOrUndefined } from "./tools/paths.ts";
import { listSkills } from "./tools/skills.ts";

export interface SystemPromptOptions {
  now?: () => Date;
  /** Appended last (API `system` messages, gateway notes). */
  extraSystem?: string;
}

/** The persona used when an agent's home has no `SOUL.md`. */
export function defaultPersona(agent: AgentProfile): string {
  const about = agent.description ? ` ${agent.description}` : "";
  return `You are ${agent.name}, a helpful assistant.${about} Answer clearly and concisely; say so when you do not know.`;
}

function section(title: string, body: string | undefined): string | undefined {
  const text = body?.trim();
  return text ? `## ${title}\n${text}` : undefined;
}

/** The session context: where the message came from and when. */
export function sessionContext(agent: AgentProfile, source: SessionSource, now: Date): string {
  const chat = [
    source.chatType,
    source.chatName ? `"${source.chatName}"` : undefined,
    source.chatId ? `id ${source.chatId}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
  const account = source.account && source.account !== "default" ? ` (account ${source.account})` : "";
  const lines = [
    `- Agent: ${agent.name} (id ${agent.id})`,
    `- Platform: ${source.platform}${account}`,
    `- Chat: ${chat}`,
    ...(source.threadId ? [`- Thread: ${source.threadId}`] : []),
    ...(source.userName || source.userId
      ? [
          `- User: ${[source.userName, source.userId ? `id ${source.userId}` : undefined].filter(Boolean).join(", ")}`,
        ]
      : []),
    `- Current time: ${now.toISOString()} (${now.toUTCString().slice(0, 3)}, UTC)`,
  ];
  return lines.join("\n");
}

/**
 * The agent's system prompt: `SOUL.md` (or a default persona), memory (`MEMORY.md`, `USER.md`), the skills
 * index, the session context, then `extraSystem`. Files are read from the agent's own home, cached by mtime.
 */
export function buildSystemPrompt(
  agent: AgentProfile,
  source: SessionSource,
  options: SystemPromptOptions = {},
): string {
  const dirs = agentDirs(agent);
  // Through the tools' path guard: a symlink out of the agent's home reads as a missing file. Only a
  // file that exists needs the guard's realpath calls.
  const read = (base: string, name: string) => {
    const text = readCachedText(join(base, name));
    return text === undefined || insideOrUndefined(agent, base, [name]) === undefined ? undefined : text;
  };
  const soul = read(dirs.home, "SOUL.md")?.trim();
  const skills = listSkills(agent);
  const skillsIndex =
    skills.length === 0
      ? undefined
      : [
          agent.toolsets.includes("skills") ? "Read a skill with `skill_view` before following it." : "",
          ...skills.map((s) => `- ${s.name}${s.description ? `: ${s.description}` : ""}`),
        ]
          .filter(Boolean)
          .join("\n");
  const parts = [
    soul || defaultPersona(agent),
    section("Memory", read(dirs.memories, "MEMORY.md")),
    section("About the user", read(dirs.memories, "USER.md")),
    section("Skills", skillsIndex),
    section("Session context", sessionContext(agent, source, (options.now ?? (() => new Date()))())),
    options.extraSystem?.trim() || undefined,
  ];
  return parts.filter((p): p is string => Boolean(p)).join("\n\n");
}
