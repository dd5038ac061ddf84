import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type ForeignState, parseDotenv, readForeignStateDb } from "@switchboard/core";
import { parseDocument } from "yaml";

/** One Hermes profile as found on disk: the default one (the home itself) or `profiles/<name>/`. */
export interface HermesProfile {
  /** `default` for the home itself, else the directory name under `profiles/`. */
  name: string;
  dir: string;
  /** `config.yaml` (with a legacy `gateway.json` merged under it), `{}` when absent. */
  config: Record<string, unknown>;
  env: Record<string, string>;
  soul: boolean;
  memories: boolean;
  /** Skill directory names under `skills/` (each holding a SKILL.md). */
  skills: string[];
  /** `cron/jobs.json` → `jobs`, as stored (upstream's format). */
  cronJobs: Array<Record<string, unknown>>;
  cronOutput: boolean;
  /** The sessions of `state.db`, read through Switchboard's migrations from a copy; `undefined` without a state.db. */
  state: ForeignState | undefined;
  /** The routing index: session key → entry (`sessions/sessions.json`, then the `gateway_routing` table). */
  routing: Map<string, Record<string, unknown>>;
  /** Users approved through DM pairing, per platform (`pairing/<platform>-approved.json`). */
  approved: Map<string, string[]>;
  /** Entries present in the profile that the import does not carry over (see the plan's notes). */
  present: string[];
  /** The id of the multi-agent `agents.<id>` entry whose `home_dir` this is, when one names it. */
  declaredBy?: string;
}

export interface HermesHome {
  root: string;
  profiles: HermesProfile[];
}

/** Entries of a Hermes home that exist on disk but have no Switchboard counterpart. */
const NOT_CARRIED = [
  "auth.json",
  "response_store.db",
  "hooks",
  "plugins",
  "scripts",
  "home",
  "workspace",
  "plans",
  "skins",
] as const;

function readYaml(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const doc = parseDocument(readFileSync(file, "utf8"));
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message.split("\n")[0]}`);
  const value = doc.toJS() as unknown;
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A plain object (a YAML/JSON mapping), not null or an array. */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function skillNames(dir: string): string[] {
  if (!isDir(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, "SKILL.md")))
    .sort();
}

/** Approved ids from a pairing file: a list of ids or `{user_id}` objects, or a map keyed by id. */
function approvedIds(value: unknown): string[] {
  if (Array.isArray(value))
    return value.flatMap((v) =>
      typeof v === "string" || typeof v === "number"
        ? [String(v)]
        : isRecord(v) && v.user_id !== undefined
          ? [String(v.user_id)]
          : [],
    );
  if (isRecord(value)) return Object.keys(value).filter((k) => !k.startsWith("_"));
  return [];
}

async function readProfile(name: string, dir: string): Promise<HermesProfile> {
  const legacy = readJson(join(dir, "gateway.json"));
  const config = { ...(isRecord(legacy) ? legacy : {}), ...readYaml(join(dir, "config.yaml")) };
  const env = existsSync(join(dir, ".env")) ? parseDotenv(readFileSync(join(dir, ".env"), "utf8")) : {};
  const jobsFile = readJson(join(dir, "cron", "jobs.json"));
  const cronJobs = isRecord(jobsFile) && Array.isArray(jobsFile.jobs) ? jobsFile.jobs.filter(isRecord) : [];

  const routing = new Map<string, Record<string, unknown>>();
  const index = readJson(join(dir, "sessions", "sessions.json"));
  if (isRecord(index)) {
    for (const [key, entry] of Object.entries(index))
      if (!key.startsWith("_") && isRecord(entry)) routing.set(key, entry);
  }
  const stateFile = join(dir, "state.db");
  const state = existsSync(stateFile) ? await readForeignStateDb(stateFile) : undefined;
  // The table is the primary copy in the later schema; sessions.json is its legacy mirror.
  for (const { sessionKey, entry } of state?.routing ?? [])
    if (isRecord(entry)) routing.set(sessionKey, entry);

  const approved = new Map<string, string[]>();
  const pairing = join(dir, "pairing");
  if (isDir(pairing)) {
    for (const f of readdirSync(pairing).sort()) {
      const m = /^(.+)-approved\.json$/.exec(f);
      if (m) approved.set(m[1]!, approvedIds(readJson(join(pairing, f))));
    }
  }
  return {
    name,
    dir,
    config,
    env,
    soul: existsSync(join(dir, "SOUL.md")),
    memories: isDir(join(dir, "memories")),
    skills: skillNames(join(dir, "skills")),
    cronJobs,
    cronOutput: isDir(join(dir, "cron", "output")),
    state,
    routing,
    approved,
    present: NOT_CARRIED.filter((e) => existsSync(join(dir, e))),
  };
}

/** Read a Hermes home: the default profile and every `profiles/<name>/`. Nothing is written. */
export async function readHermesHome(root: string): Promise<HermesHome> {
  if (!isDir(root)) throw new Error(`${root} is not a directory: pass the Hermes home (default ~/.hermes)`);
  if (
    !existsSync(join(root, "config.yaml")) &&
    !existsSync(join(root, ".env")) &&
    !isDir(join(root, "profiles"))
  )
    throw new Error(`${root} does not look like a Hermes home: it has no config.yaml, .env or profiles/`);
  const profiles = [await readProfile("default", root)];
  const dir = join(root, "profiles");
  if (isDir(dir)) {
    for (const name of readdirSync(dir).sort())
      if (isDir(join(dir, name))) profiles.push(await readProfile(name, join(dir, name)));
  }
  // The multi-agent schema's `agents.<id>.home_dir` may point outside profiles/: read those homes too.
  const agents = profiles[0]!.config.agents;
  for (const [id, entry] of Object.entries(isRecord(agents) ? agents : {})) {
    const raw = isRecord(entry) && typeof entry.home_dir === "string" ? entry.home_dir : undefined;
    if (!raw) continue;
    const home = expandHome(root, raw);
    const known = profiles.find((p) => resolve(p.dir) === home);
    if (known) known.declaredBy ??= id;
    else if (isDir(home)) profiles.push({ ...(await readProfile(id, home)), declaredBy: id });
  }
  return { root, profiles };
}

/** Where a multi-agent `home_dir` points, `~` expanded, relative to the Hermes home. */
export function expandHome(root: string, raw: string): string {
  return resolve(root, raw === "~" || raw.startsWith("~/") ? join(homedir(), raw.slice(1)) : raw);
}
