import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { listSkills, parseMemoryEntries } from "@switchboard/agent";
import { type AgentProfile, readJobs } from "@switchboard/core";

export interface AgentSummary {
  /** The first non-empty lines of SOUL.md, or null when the agent runs on the default persona. */
  soul: string[] | null;
  skills: Array<{ name: string; description: string }>;
  memory: Record<"MEMORY.md" | "USER.md", { bytes: number; entries: number } | null>;
  cron:
    | { jobs: Array<{ id: string; schedule: string; next: string | null; enabled: boolean }> }
    | { error: string };
}

const SOUL_LINES = 3;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function memoryFile(file: string): { bytes: number; entries: number } | null {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  return { bytes: st.size, entries: parseMemoryEntries(readText(file) ?? "").length };
}

/** What `agent show` tells about an agent's home: persona, skills, memory sizes and cron jobs. */
export function summarizeAgent(agent: AgentProfile): AgentSummary {
  const soul = readText(join(agent.home, "SOUL.md"));
  let cron: AgentSummary["cron"];
  try {
    cron = {
      jobs: readJobs(join(agent.home, "cron")).map((j) => ({
        id: j.id,
        schedule: j.schedule.input,
        next: j.nextRunAt === null ? null : new Date(j.nextRunAt).toISOString(),
        enabled: j.enabled,
      })),
    };
  } catch (err) {
    cron = { error: err instanceof Error ? err.message : String(err) };
  }
  return {
    soul:
      soul === undefined
        ? null
        : soul
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean)
            .slice(0, SOUL_LINES),
    skills: listSkills(agent).map((s) => ({ name: s.name, description: s.description })),
    memory: {
      "MEMORY.md": memoryFile(join(agent.home, "memories", "MEMORY.md")),
      "USER.md": memoryFile(join(agent.home, "memories", "USER.md")),
    },
    cron,
  };
}

/** The summary as `KEY VALUE` rows for the table view. */
export function summaryRows(s: AgentSummary): Array<[string, string]> {
  const mem = (m: { bytes: number; entries: number } | null) =>
    m ? `${m.bytes} bytes, ${m.entries} entr${m.entries === 1 ? "y" : "ies"}` : "none";
  return [
    ["soul", s.soul ? s.soul.join(" / ") : "(default persona: no SOUL.md)"],
    [
      "skills",
      s.skills.length
        ? s.skills.map((k) => (k.description ? `${k.name} (${k.description})` : k.name)).join(", ")
        : "none",
    ],
    ["memory", `MEMORY.md ${mem(s.memory["MEMORY.md"])}; USER.md ${mem(s.memory["USER.md"])}`],
    [
      "cron",
      "error" in s.cron
        ? `unreadable: ${s.cron.error}`
        : s.cron.jobs.length
          ? s.cron.jobs.map((j) => `${j.id} ${j.schedule}${j.enabled ? "" : " (paused)"}`).join(", ")
          : "none",
    ],
  ];
}
