import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN_AGENT, openSessionStore, parseDotenv, readJobs, writeJobs } from "@switchboard/core";
import { parse, stringify } from "yaml";
import { loadGatewayConfig } from "../config.ts";
import type { ImportPlan } from "./plan.ts";
import { isRecord } from "./read-home.ts";

export interface WriteResult {
  sessions: number;
  messages: number;
  /** Sessions already in the store (a repeated `--merge` import), left as they were. */
  skipped: number;
  jobs: number;
}

const HEADER = `# Written by \`switchboard import hermes\`. Every key is documented in docs/configuration.md;
# what maps to what is in docs/migrating-from-hermes.md. Secrets are in .env files, referenced as \${VAR}.
`;

function quote(value: string): string {
  return /^[A-Za-z0-9_./:@+-]*$/.test(value) ? value : JSON.stringify(value);
}

/** Write `vars` into a `.env` (0600), keeping every variable it already has. */
function writeEnv(file: string, vars: Record<string, string>): void {
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
  const have = parseDotenv(existing);
  const add = Object.entries(vars).filter(([k]) => have[k] === undefined);
  if (!add.length && existing) return;
  const lines = add.map(([k, v]) => `${k}=${quote(v)}`);
  const head = existing
    ? `${existing.replace(/\n*$/, "\n")}\n# imported from Hermes\n`
    : "# imported from Hermes\n";
  writeFileSync(file, `${head}${lines.join("\n")}\n`, { mode: 0o600 });
}

/** Merge an imported config into an existing one: new agents, providers and accounts are added, new routes appended. */
function mergeConfig(
  existing: Record<string, unknown>,
  incoming: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...incoming, ...existing };
  for (const key of ["agents", "providers"] as const)
    out[key] = {
      ...(isRecord(incoming[key]) ? incoming[key] : {}),
      ...(isRecord(existing[key]) ? existing[key] : {}),
    };
  const routes = Array.isArray(existing.routes) ? existing.routes : [];
  const known = new Set(routes.map((r) => JSON.stringify(r)));
  out.routes = [...routes, ...(incoming.routes as unknown[]).filter((r) => !known.has(JSON.stringify(r)))];
  const platforms: Record<string, unknown> = { ...(isRecord(existing.platforms) ? existing.platforms : {}) };
  for (const [name, section] of Object.entries(isRecord(incoming.platforms) ? incoming.platforms : {})) {
    const have = isRecord(platforms[name]) ? (platforms[name] as Record<string, unknown>) : undefined;
    if (!have) platforms[name] = section;
    else
      platforms[name] = {
        ...have,
        accounts: {
          ...((section as Record<string, unknown>).accounts as object),
          ...(isRecord(have.accounts) ? have.accounts : {}),
        },
      };
  }
  out.platforms = platforms;
  return out;
}

/** The config file's text. */
function configText(config: Record<string, unknown>): string {
  return HEADER + stringify(config, { lineWidth: 0 });
}

/** Write atomically: a temp file beside the target, renamed over it. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Carry out a plan. The config is validated before anything is written (with the adapters' schemas, as
 * `switchboard config check` does); then files, secrets, jobs and sessions are written, the config last
 * (atomically), and the written home is checked once more. A `ConfigError` says what does not load.
 */
export async function writePlan(plan: ImportPlan): Promise<WriteResult> {
  const result: WriteResult = { sessions: 0, messages: 0, skipped: 0, jobs: 0 };
  const file = join(plan.home, "config.yaml");
  let config = plan.config;
  if (existsSync(file)) {
    const existing = parse(readFileSync(file, "utf8")) as unknown;
    config = mergeConfig(isRecord(existing) ? existing : {}, plan.config);
  }
  const text = configText(config);
  const env = { ...process.env, SWITCHBOARD_HOME: plan.home };
  await loadGatewayConfig({ home: plan.home, path: file, text, env: { ...plan.rootEnv, ...env } });

  mkdirSync(plan.home, { recursive: true });
  for (const agent of plan.agents) {
    mkdirSync(join(agent.home, "memories"), { recursive: true });
    mkdirSync(join(agent.home, "skills"), { recursive: true });
    if (agent.source) {
      for (const entry of agent.copy)
        cpSync(join(agent.source, entry), join(agent.home, entry), { recursive: true, force: false });
    }
    if (agent.id !== MAIN_AGENT && Object.keys(agent.env).length)
      writeEnv(join(agent.home, ".env"), agent.env);
    if (agent.jobs.length) {
      const dir = join(agent.home, "cron");
      const jobs = readJobs(dir);
      const add = agent.jobs.filter((j) => !jobs.some((have) => have.id === j.id));
      writeJobs(dir, [...jobs, ...add]);
      result.jobs += add.length;
    }
  }
  writeEnv(join(plan.home, ".env"), plan.rootEnv);

  const store = openSessionStore(join(plan.home, "state.db"));
  try {
    const r = await store.importSessions(plan.agents.flatMap((a) => a.sessions));
    result.sessions = r.sessions;
    result.messages = r.messages;
    result.skipped = r.skipped.length;
  } finally {
    await store.close();
  }

  writeAtomic(file, text);
  await loadGatewayConfig({ home: plan.home, env });
  return result;
}
