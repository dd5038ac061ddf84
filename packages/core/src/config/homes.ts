import { dirname, relative, resolve, sep } from "node:path";
import type { AgentProfile } from "../agents.ts";
import type { ConfigIssue } from "../errors.ts";

/** The folders of an agent home that belong to that agent alone. */
const OWN_PARTS = ["memories", "skills", "cron", ".env", "SOUL.md"];

function inside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r !== "" && !r.startsWith("..") && !r.startsWith(sep) && r !== "..";
}

/**
 * The pairs `[i, j]` (`i < j`, in order) whose homes are the same folder or one inside the other: only those
 * can clash. Each home looks up its own path and its ancestors, so the check is linear in the number of
 * agents (times the depth of their paths), not one `relative()` per pair — 1,000 agents are 500,000 pairs.
 */
function candidatePairs(profiles: readonly AgentProfile[]): Array<[number, number]> {
  const byHome = new Map<string, number[]>();
  const homes = profiles.map((p, i) => {
    const h = resolve(p.home);
    const list = byHome.get(h);
    if (list) list.push(i);
    else byHome.set(h, [i]);
    return h;
  });
  const pairs = new Map<number, Set<number>>();
  const add = (x: number, y: number) => {
    if (x === y) return;
    const [i, j] = x < y ? [x, y] : [y, x];
    let set = pairs.get(i);
    if (!set) pairs.set(i, (set = new Set()));
    set.add(j);
  };
  homes.forEach((h, i) => {
    for (const j of byHome.get(h)!) add(i, j);
    for (let cur = h, up = dirname(cur); up !== cur; cur = up, up = dirname(cur)) {
      for (const j of byHome.get(up) ?? []) add(i, j);
    }
  });
  const out: Array<[number, number]> = [];
  for (const i of [...pairs.keys()].sort((a, b) => a - b))
    for (const j of [...pairs.get(i)!].sort((a, b) => a - b)) out.push([i, j]);
  return out;
}

/**
 * Two agents sharing a home would run each other's cron jobs and read each other's `.env`. Homes must be
 * distinct and not nested; the one exception is the root home (main's), which holds `agents/<id>` and any
 * other folder an agent is pointed at, as long as it is not one of main's own files.
 */
export function homeOverlapIssues(profiles: readonly AgentProfile[], rootHome: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const [i, j] of candidatePairs(profiles)) {
    const [a, b] = [profiles[i]!, profiles[j]!];
    const [other, self] = b.isMain ? [b, a] : [a, b];
    let why: string | undefined;
    if (a.home === b.home) why = "is the same folder as";
    else if (other.isMain && other.home === rootHome && inside(self.home, rootHome)) {
      const first = relative(rootHome, self.home).split(sep)[0]!;
      if (OWN_PARTS.includes(first)) why = "is inside";
    } else if (inside(self.home, other.home)) why = "is inside";
    else if (inside(other.home, self.home)) {
      out.push(issue(other, self, "is inside"));
      continue;
    }
    if (why) out.push(issue(self, other, why));
  }
  return out;
}

function issue(self: AgentProfile, other: AgentProfile, why: string): ConfigIssue {
  const where = self.isMain ? "the root home" : `agents.${self.id}.home`;
  return {
    path: self.isMain ? `agents.${other.id}.home` : `agents.${self.id}.home`,
    message: `${where} (${self.home}) ${why} the home of agent "${other.id}" (${other.home}): agents "${self.id}" and "${other.id}" would share cron jobs and secrets; give each agent its own folder`,
  };
}
