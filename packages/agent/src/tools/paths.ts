import { realpathSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { type AgentProfile, agentHome, memoryDir, skillsDir, useAgent } from "@switchboard/core";
import { ToolError } from "./types.ts";

/** The agent's directories, resolved inside its own scope so no other agent's scope can leak in. */
export function agentDirs(agent: AgentProfile): { home: string; memories: string; skills: string } {
  return useAgent(agent, () => ({ home: agentHome(), memories: memoryDir(), skills: skillsDir() }));
}

/** `resolveInsideSync`, or `undefined` when the path escapes the agent's home (the caller treats it as absent). */
export function insideOrUndefined(agent: AgentProfile, base: string, parts: string[]): string | undefined {
  try {
    return resolveInsideSync(agent, base, parts);
  } catch (err) {
    if (err instanceof ToolError) return undefined;
    throw err;
  }
}

/** True when `child` is `parent` or lies beneath it (lexically). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && rel.split(sep)[0] !== "..");
}

function realOrUndefined(path: string): string | undefined {
  try {
    // The native call is one syscall; the JS one lstat()s every component of the path.
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

/**
 * Resolve `parts` under `base` (a directory of the agent's home) and refuse anything that escapes it:
 * `..`, absolute paths, and symlinks whose real target lies outside the agent's real home.
 */
export async function resolveInside(
  agent: AgentProfile,
  base: string,
  parts: string[],
  opts: { create?: boolean } = {},
): Promise<string> {
  if (opts.create) {
    resolveInsideSync(agent, base, parts, { lexicalOnly: true });
    await mkdir(base, { recursive: true, mode: 0o700 });
  }
  return resolveInsideSync(agent, base, parts);
}

/**
 * The same guard, synchronous: prompt assembly reads `SOUL.md`, memory and skills through it, so a symlink
 * cannot put another agent's files into the prompt any more than a tool can read them.
 */
export function resolveInsideSync(
  agent: AgentProfile,
  base: string,
  parts: string[],
  opts: { lexicalOnly?: boolean } = {},
): string {
  const { home } = agentDirs(agent);
  const target = resolve(base, ...parts);
  if (!isInside(base, target) || !isInside(home, base)) {
    throw new ToolError(
      `path ${JSON.stringify(parts.join("/"))} escapes agent "${agent.id}"'s home and is refused`,
      "path_escape",
    );
  }
  if (opts.lexicalOnly) return target;
  const realHome = realOrUndefined(home) ?? home;
  // The root home (main's) holds the other agents' homes under agents/: they are never main's to touch.
  const realRoot = realOrUndefined(agent.rootHome) ?? agent.rootHome;
  const othersDir = join(realRoot, "agents");
  const guardOthers = !isInside(othersDir, realHome);
  // A symlinked directory or file must still land inside the home once resolved.
  for (const candidate of [target, base]) {
    const real = realOrUndefined(candidate);
    if (real === undefined) continue;
    if (!isInside(realHome, real) || (guardOthers && isInside(othersDir, real))) {
      throw new ToolError(
        `path ${JSON.stringify(parts.join("/"))} resolves outside agent "${agent.id}"'s home and is refused`,
        "path_escape",
      );
    }
  }
  return target;
}
