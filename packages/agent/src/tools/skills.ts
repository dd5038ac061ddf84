import { readFile } from "node:fs/promises";
import type { AgentProfile } from "@switchboard/core";
import { z } from "zod";
import { listCachedDirs, parseFrontMatter, readCachedText } from "../files.ts";
import { agentDirs, insideOrUndefined, resolveInside } from "./paths.ts";
import { type AgentTool, defineTool, ToolError } from "./types.ts";

export interface SkillSummary {
  /** The front matter's `name`, else the directory name. */
  name: string;
  description: string;
  /** The directory under `skills/`. */
  dir: string;
}

const MAX_SKILL_FILE_CHARS = 64_000;

/** Each SKILL.md's summary, keyed by file and kept while its text is unchanged: no YAML parse per turn. */
const SUMMARIES = new Map<string, { text: string; summary: SkillSummary }>();

/**
 * Every `skills/<dir>/SKILL.md` of the agent's skills directory, with name and description from its front
 * matter. A skill whose directory or file is a symlink out of the agent's home is left out.
 */
export function listSkills(agent: AgentProfile): SkillSummary[] {
  const skillsDir = agentDirs(agent).skills;
  const out: SkillSummary[] = [];
  for (const dir of listCachedDirs(skillsDir)) {
    const file = insideOrUndefined(agent, skillsDir, [dir, "SKILL.md"]);
    const text = file === undefined ? undefined : readCachedText(file);
    if (file === undefined || text === undefined) {
      if (file !== undefined) SUMMARIES.delete(file);
      continue;
    }
    const hit = SUMMARIES.get(file);
    if (hit && hit.text === text) {
      out.push({ ...hit.summary });
      continue;
    }
    const { data } = parseFrontMatter(text);
    const name = typeof data.name === "string" && data.name.trim() ? data.name.trim() : dir;
    const description =
      typeof data.description === "string" ? data.description.trim().replace(/\s+/g, " ") : "";
    const summary = { name, description, dir };
    SUMMARIES.set(file, { text, summary });
    out.push({ ...summary });
  }
  return out;
}

/** `..`, absolute paths, backslashes and NUL never name anything inside a skill; a name may not hold `/` either. */
function refuseEscapes(value: string, what: "skill name" | "file", agentId: string): void {
  const bad =
    value.split("/").includes("..") || value.includes("\\") || value.startsWith("/") || value.includes("\0");
  if (bad || (what === "skill name" && value.includes("/"))) {
    throw new ToolError(
      `${what} ${JSON.stringify(value)} escapes agent "${agentId}"'s skills directory and is refused`,
      "path_escape",
    );
  }
}

export const SKILLS_TOOLS: AgentTool[] = [
  defineTool({
    name: "skills_list",
    description: "List your skills (name and description).",
    inputSchema: z.object({}),
    execute: async (_input, ctx) => ({
      skills: listSkills(ctx.agent).map(({ name, description }) => ({ name, description })),
    }),
  }),
  defineTool({
    name: "skill_view",
    description: "Read one of your skills (its SKILL.md, or another file of the skill's directory).",
    inputSchema: z.object({
      name: z.string().min(1).describe("The skill's name, as listed"),
      file: z.string().min(1).optional().describe("A file inside the skill's directory; default SKILL.md"),
    }),
    execute: async ({ name, file }, ctx) => {
      refuseEscapes(name, "skill name", ctx.agent.id);
      if (file !== undefined) refuseEscapes(file, "file", ctx.agent.id);
      const { skills: dir } = agentDirs(ctx.agent);
      const skills = listSkills(ctx.agent);
      const skill = skills.find((s) => s.name === name) ?? skills.find((s) => s.dir === name);
      if (!skill) {
        // A skill left out of the list for escaping the home: say so, rather than that it does not exist.
        if (listCachedDirs(dir).includes(name)) await resolveInside(ctx.agent, dir, [name, "SKILL.md"]);
        const names = skills.map((s) => s.name).join(", ") || "none";
        throw new ToolError(`no skill named ${JSON.stringify(name)} (available: ${names})`, "not_found");
      }
      const path = await resolveInside(ctx.agent, dir, [skill.dir, ...(file ?? "SKILL.md").split("/")]);
      let content: string;
      try {
        content = await readFile(path, "utf8");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "EISDIR") {
          throw new ToolError(
            `skill ${JSON.stringify(skill.name)} has no file ${JSON.stringify(file ?? "SKILL.md")}`,
            "not_found",
          );
        }
        throw err;
      }
      const truncated = content.length > MAX_SKILL_FILE_CHARS;
      return {
        name: skill.name,
        description: skill.description,
        file: file ?? "SKILL.md",
        content: truncated ? content.slice(0, MAX_SKILL_FILE_CHARS) : content,
        ...(truncated ? { truncated: true } : {}),
      };
    },
  }),
];
