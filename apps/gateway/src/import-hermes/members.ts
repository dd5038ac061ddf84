import { AGENT_ID_PATTERN, MAIN_AGENT } from "@switchboard/core";
import type { Member } from "./accounts.ts";
import type { HermesHome } from "./read-home.ts";
import { isRecord } from "./read-home.ts";

/** An agent id for a Hermes name: lowercased, invalid characters replaced, made unique. */
export function normalizeId(name: string, taken: Set<string>): string {
  let id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64);
  if (!id) id = "agent";
  let out = id;
  for (let i = 2; taken.has(out) || !AGENT_ID_PATTERN.test(out); i++) out = `${id.slice(0, 60)}-${i}`;
  taken.add(out);
  return out;
}

/**
 * The agents of the import: every profile (the default one is `main`), then each multi-agent `agents.<id>`
 * entry no profile stands for. `idOf` maps every Hermes name (profile name, multi-agent id) to its agent id.
 */
export function planMembers(
  hermes: HermesHome,
  notes: string[],
): { members: Member[]; idOf: Map<string, string> } {
  const root = hermes.profiles[0]!;
  const multiAgents = isRecord(root.config.agents) ? root.config.agents : {};
  const taken = new Set<string>([MAIN_AGENT]);
  const idOf = new Map<string, string>(); // Hermes profile name or multi-agent id → agent id
  const members: Member[] = [];
  for (const p of hermes.profiles) {
    const id = p === root ? MAIN_AGENT : normalizeId(p.declaredBy ?? p.name, taken);
    const declared = p.declaredBy ? multiAgents[p.declaredBy] : undefined;
    const entry = isRecord(declared) ? declared : {};
    members.push({ id, profile: p, from: p === root ? "default profile" : `profile ${p.name}`, entry });
    idOf.set(p === root ? "default" : p.name, id);
    if (p.declaredBy) idOf.set(p.declaredBy, id);
  }
  idOf.set(MAIN_AGENT, MAIN_AGENT);
  for (const [raw, entry] of Object.entries(multiAgents)) {
    if (!isRecord(entry)) {
      notes.push(`agents.${raw} is not a mapping: skipped (as Hermes does)`);
      continue;
    }
    if (idOf.has(raw)) {
      if (raw === MAIN_AGENT) members[0]!.entry = entry;
      continue;
    }
    const id = normalizeId(raw, taken);
    idOf.set(raw, id);
    members.push({ id, profile: undefined, from: `agents.${raw}`, entry });
  }
  for (const m of members) {
    if (m.entry.enabled_toolsets !== undefined || m.entry.disabled_toolsets !== undefined)
      notes.push(
        `${m.from}: Hermes toolsets do not map to Switchboard's (memory, skills, cron, sessions): all are enabled`,
      );
    if (m.entry.receptors !== undefined)
      notes.push(`${m.from}: receptors (MCP allowlist) are not carried over: configure agents.${m.id}.mcp`);
  }

  return { members, idOf };
}
