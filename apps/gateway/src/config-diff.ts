import type { GatewayConfig, ParsedConfig } from "@switchboard/core";

/** The sections of the config a reload compares (everything the file says; derived fields are left out). */
const SECTIONS: ReadonlyArray<keyof ParsedConfig> = [
  "default_agent",
  "model",
  "providers",
  "agents",
  "routes",
  "platforms",
  "api_server",
  "session",
  "cron",
  "store",
  "plugins",
  "budgets",
  "rate_limits",
  "pricing",
  "metrics",
  "circuit_breaker",
  "shutdown_timeout_s",
  "log_level",
];

/** How deep a path is reported: `agents.ops.budget`, `platforms.telegram.accounts`. Deeper changes fold up. */
const MAX_DEPTH = 3;

export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function walk(a: unknown, b: unknown, path: string, depth: number, out: ConfigDiff): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (a === undefined) return void out.added.push(path);
  if (b === undefined) return void out.removed.push(path);
  if (depth >= MAX_DEPTH || !isObject(a) || !isObject(b)) return void out.changed.push(path);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
    walk(a[k], b[k], `${path}.${k}`, depth + 1, out);
}

/**
 * What a reload changed, as paths only: never a value, so no token, key or password can reach the audit log.
 */
export function configDiff(before: GatewayConfig, after: GatewayConfig): ConfigDiff {
  const out: ConfigDiff = { added: [], removed: [], changed: [] };
  for (const s of SECTIONS) walk(before[s], after[s], s, 1, out);
  return out;
}

/** The budgets a reload changed, each named by its path (keys by name or position, never by value). */
export function budgetChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const id of new Set([...Object.keys(before.agents), ...Object.keys(after.agents)]))
    if (!same(before.agents[id]?.budget, after.agents[id]?.budget)) out.push(`agents.${id}.budget`);
  if (!same(before.budgets, after.budgets)) out.push("budgets");
  const keyBudgets = (c: GatewayConfig) =>
    new Map(c.api_server.keys.map((k, i) => [k.name ?? `#${i}`, k.budget] as const));
  const kb = keyBudgets(before);
  const ka = keyBudgets(after);
  for (const name of new Set([...kb.keys(), ...ka.keys()]))
    if (!same(kb.get(name), ka.get(name))) out.push(`api_server.keys[${name}].budget`);
  return out;
}
