import { join } from "node:path";
import { OPEN_PRINCIPAL_ID, principalIdOfKey } from "@switchboard/api-server";
import {
  buildConfig,
  type CronJob,
  createRouter,
  type ImportedSession,
  MAIN_AGENT,
  type Router,
  resolveAgentHome,
  type SessionKeyOptions,
} from "@switchboard/core";
import { type Member, type PlannedAccount, planAccounts } from "./accounts.ts";
import { convertJob } from "./cron.ts";
import { planMembers } from "./members.ts";
import { hermesModel, mapModel, Providers } from "./models.ts";
import { isPlatformVariable, PLATFORM_MAP } from "./platforms.ts";
import type { HermesHome, HermesProfile } from "./read-home.ts";
import { isRecord } from "./read-home.ts";
import { planRoutes } from "./routes.ts";
import { planSessions } from "./sessions.ts";

/** The profile's API key as carried over (keys under 8 characters are not), which then owns its API sessions. */
const principalOf = (key: string | undefined): string => (key ? principalIdOfKey(key) : OPEN_PRINCIPAL_ID);

function apiKeyOf(profile: HermesProfile): string | undefined {
  const key = profile.env.API_SERVER_KEY;
  return key && key.length >= 8 ? key : undefined;
}

export type { PlannedAccount } from "./accounts.ts";

export interface PlannedAgent {
  id: string;
  /** The Hermes profile (or multi-agent entry) it comes from. */
  from: string;
  /** The Hermes directory its files come from (the default profile's for a multi-agent entry without a `home_dir`). */
  source: string | undefined;
  home: string;
  /** Entries copied from `source` into `home`. */
  copy: string[];
  skills: string[];
  /** Written to the agent's `.env` (`main`'s is the root `.env`). */
  env: Record<string, string>;
  jobs: CronJob[];
  sessions: ImportedSession[];
  messages: number;
  continued: number;
}

export interface ImportPlan {
  hermesHome: string;
  home: string;
  agents: PlannedAgent[];
  accounts: PlannedAccount[];
  /** The config.yaml tree to write. */
  config: Record<string, unknown>;
  /** Variables for the root `.env`: main's secrets and every platform credential the config references. */
  rootEnv: Record<string, string>;
  /** What could not be carried over, and why. */
  notes: string[];
}

const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const truthy = (v: unknown) => v === true || (typeof v === "string" && /^(1|true|yes|on)$/i.test(v.trim()));
const envSuffix = (id: string) => id.toUpperCase().replace(/[^A-Z0-9]/g, "_");

function sessionSettings(cfg: Record<string, unknown>, env: Record<string, string>): Record<string, unknown> {
  const session: Record<string, unknown> = {};
  if (typeof cfg.group_sessions_per_user === "boolean") session.group_per_user = cfg.group_sessions_per_user;
  if (typeof cfg.thread_sessions_per_user === "boolean")
    session.thread_per_user = cfg.thread_sessions_per_user;
  const r = isRecord(cfg.session_reset) ? cfg.session_reset : undefined;
  const reset: Record<string, unknown> = {};
  if (r && ["none", "idle", "daily", "both"].includes(String(r.mode))) reset.mode = r.mode;
  const idle = Number(r?.idle_minutes ?? env.SESSION_IDLE_MINUTES);
  const hour = Number(r?.at_hour ?? env.SESSION_RESET_HOUR);
  if (Number.isInteger(idle) && idle > 0) reset.idle_minutes = idle;
  if (Number.isInteger(hour) && hour >= 0 && hour <= 23) reset.at_hour = hour;
  if (Object.keys(reset).length) session.reset = { mode: "none", ...reset };
  return session;
}

/** Plan the whole import. Reads nothing from disk (the Hermes home was read already) and writes nothing. */
export function planImport(hermes: HermesHome, home: string, now = Date.now()): ImportPlan {
  const notes: string[] = [];
  const root = hermes.profiles[0]!;
  const rootCfg = root.config;

  const { members, idOf } = planMembers(hermes, notes);
  const acc = planAccounts(members, notes);
  const { accounts, platforms, accountOf } = acc;
  const rootEnv: Record<string, string> = { ...acc.env };
  const routes = [...planRoutes(root, idOf, acc.mainAccount, notes), ...acc.routes];

  // --- models, providers, secrets ----------------------------------------------------------------
  const providers = new Providers();
  const agentsCfg: Record<string, Record<string, unknown>> = {};
  const planned: PlannedAgent[] = [];
  const apiKeys: Array<Record<string, unknown>> = [];
  for (const m of members) {
    const { agent, entry } = planAgent(m, { root, home, providers, rootEnv, apiKeys, notes });
    agentsCfg[m.id] = entry;
    planned.push(agent);
  }
  Object.assign(rootEnv, planned[0]!.env);

  // --- the config ---------------------------------------------------------------------------------
  const api = planApiServer(root, apiKeys, members.length, notes);
  const defaultAgent = str(rootCfg.default_agent) ? idOf.get(str(rootCfg.default_agent)!) : undefined;
  if (str(rootCfg.default_agent) && !defaultAgent)
    notes.push(`default_agent ${String(rootCfg.default_agent)} is not defined: main is the default`);
  const config: Record<string, unknown> = {
    ...(defaultAgent && defaultAgent !== MAIN_AGENT ? { default_agent: defaultAgent } : {}),
    model: { provider: "echo" },
    ...(Object.keys(providers.entries).length ? { providers: providers.entries } : {}),
    agents: agentsCfg,
    routes,
    platforms,
    api_server: api,
  };
  const session = sessionSettings(rootCfg, root.env);
  if (Object.keys(session).length) config.session = session;
  for (const p of hermes.profiles.slice(1)) {
    const own = sessionSettings(p.config, p.env);
    if (Object.keys(own).length && JSON.stringify(own) !== JSON.stringify(session))
      notes.push(
        `profile ${p.name}: its session settings differ from the default profile's; Switchboard has one set (the default profile's)`,
      );
  }

  // --- cron and sessions need the router of the config being built ---------------------------------
  const timezone = str(rootCfg.timezone);
  const built = buildConfig(config, { file: undefined, home, env: rootEnv, platforms: {} });
  const router = createRouter(built);
  const keyOptions = {
    groupPerUser: built.session.group_per_user,
    threadPerUser: built.session.thread_per_user,
  };
  for (const [i, m] of members.entries()) {
    const r = planHistory(m, planned[i]!, {
      root,
      idOf,
      planned,
      accountOf,
      router,
      keyOptions,
      timezone,
      now,
      notes,
    });
    if (r.allowedTargets.length) agentsCfg[m.id]!.cron = { allowed_targets: r.allowedTargets };
  }
  return { hermesHome: hermes.root, home, agents: planned, accounts, config, rootEnv, notes };
}

/** `api_server:` from the default profile's API_SERVER_* settings; each profile's key is kept to its agent. */
function planApiServer(
  root: HermesProfile,
  apiKeys: Array<Record<string, unknown>>,
  agents: number,
  notes: string[],
): Record<string, unknown> {
  const rootCfg = root.config;
  const apiSection = isRecord(isRecord(rootCfg.platforms) ? rootCfg.platforms.api_server : undefined)
    ? ((rootCfg.platforms as Record<string, unknown>).api_server as Record<string, unknown>)
    : {};
  const apiEnabled = truthy(root.env.API_SERVER_ENABLED) || apiSection.enabled === true;
  const api: Record<string, unknown> = { enabled: apiEnabled };
  if (str(root.env.API_SERVER_HOST)) api.host = str(root.env.API_SERVER_HOST);
  const port = Number(root.env.API_SERVER_PORT);
  if (Number.isInteger(port) && port > 0) api.port = port;
  if (apiKeys.length) api.keys = apiKeys;
  if (apiEnabled && agents > 1)
    notes.push(
      "api_server: /p/<profile>/v1/… becomes /agents/<agent>/v1/… (or model: <agent>); each key keeps to its own agent",
    );
  return api;
}

interface HistoryContext {
  root: HermesProfile;
  idOf: ReadonlyMap<string, string>;
  planned: PlannedAgent[];
  accountOf: (agent: string) => (platform: string) => string | undefined;
  router: Router;
  keyOptions: SessionKeyOptions;
  timezone: string | undefined;
  now: number;
  notes: string[];
}

/** A profile's cron jobs (into `agent`) and sessions (into their owning agents); the targets its jobs may deliver to. */
function planHistory(m: Member, agent: PlannedAgent, ctx: HistoryContext): { allowedTargets: string[] } {
  const { root, idOf, planned, accountOf, router, keyOptions, timezone, now, notes } = ctx;
  const profile = m.profile;
  if (!profile) return { allowedTargets: [] };
  const allowed = new Set<string>();
  for (const raw of profile.cronJobs) {
    const r = convertJob(raw, {
      who: m.from,
      accountOf: accountOf(m.id),
      homeChannel: (platform) =>
        profile.env[`${PLATFORM_MAP[platform]?.prefix ?? platform.toUpperCase()}_HOME_CHANNEL`],
      timezone,
      now,
    });
    notes.push(...r.notes);
    if (r.job) agent.jobs.push(r.job);
    for (const t of r.allowedTargets) allowed.add(t);
  }
  // A named profile's sessions are its own. The default profile's state.db also holds the multi-agent
  // schema's agents: the session key's namespace (`agent:<id>:…`) names the owner, else the agent_id column.
  const namespace = new Map<string, string>();
  for (const [key, entry] of profile.routing) {
    const ns = /^agent:([^:]+):/.exec(key)?.[1];
    if (ns && typeof entry.session_id === "string") namespace.set(entry.session_id, ns);
  }
  const groups = new Map<string, NonNullable<HermesProfile["state"]>["sessions"]>();
  for (const s of profile.state?.sessions ?? []) {
    const owner =
      profile === root
        ? (idOf.get(namespace.get(s.record.id) ?? "") ?? idOf.get(s.record.agentId) ?? MAIN_AGENT)
        : m.id;
    groups.set(owner, [...(groups.get(owner) ?? []), s]);
  }
  for (const [owner, sessions] of groups) {
    const target = planned.find((a) => a.id === owner)!;
    const sp = planSessions(
      { ...profile, state: { routing: [], sessions } },
      {
        who: m.from,
        agentId: owner,
        accountOf: accountOf(owner),
        router,
        keyOptions,
        apiPrincipal: principalOf(apiKeyOf(profile)),
      },
    );
    target.sessions.push(...sp.sessions);
    target.messages += sp.messages;
    target.continued += sp.continued;
    notes.push(...sp.notes);
  }
  return { allowedTargets: [...allowed] };
}

/** One agent's files, model, secrets and API key; the config entry goes into `agentsCfg`. */
function planAgent(
  m: Member,
  ctx: {
    root: HermesProfile;
    home: string;
    providers: Providers;
    rootEnv: Record<string, string>;
    apiKeys: Array<Record<string, unknown>>;
    notes: string[];
  },
): { agent: PlannedAgent; entry: Record<string, unknown> } {
  const { root, home, providers, rootEnv, apiKeys, notes } = ctx;
  const profile = m.profile;
  const env = profile?.env ?? {};
  const entry: Record<string, unknown> = {};
  const hm =
    profile && !str(m.entry.model)
      ? hermesModel(profile.config.model, m.entry)
      : hermesModel(m.entry.model, m.entry);
  const choice = mapModel(
    m.from,
    hm,
    profile ? env : root.env,
    isRecord(profile?.config.providers) ? profile.config.providers : {},
  );
  notes.push(...choice.notes);
  if (choice.model) {
    const model = { ...choice.model };
    if (choice.provider) model.provider = providers.add(choice.provider.base, choice.provider.entry);
    entry.model = model;
  }
  if (!profile)
    notes.push(
      `${m.from}: shared HERMES_HOME with the default profile; Switchboard agents never share a home (they would run each other's cron jobs and read each other's .env), so it gets its own, agents/${m.id}, with a copy of the default profile's SOUL.md, memories and skills`,
    );
  const agentEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (!isPlatformVariable(k) && k !== "API_SERVER_KEY") agentEnv[k] = v;
  Object.assign(agentEnv, choice.env);
  const apiKey = env.API_SERVER_KEY;
  if (apiKey) {
    if (apiKey.length < 8)
      notes.push(`${m.from}: API_SERVER_KEY is shorter than 8 characters: not carried over`);
    else {
      const variable = m.id === MAIN_AGENT ? "API_SERVER_KEY" : `API_SERVER_KEY_${envSuffix(m.id)}`;
      rootEnv[variable] = apiKey;
      apiKeys.push({ key: `\${${variable}}`, name: `hermes ${m.from}`, agents: [m.id] });
    }
  }
  // A multi-agent entry without a profile starts from the default profile's persona, memories and skills.
  const from = profile ?? root;
  const copy = [
    ...(from.soul ? ["SOUL.md"] : []),
    ...(from.memories ? ["memories"] : []),
    ...(from.skills.length ? ["skills"] : []),
    ...(profile?.cronOutput ? [join("cron", "output")] : []),
  ];
  for (const e of profile?.present ?? [])
    notes.push(
      `${m.from}: ${e} is not carried over: ${NOT_CARRIED_WHY[e] ?? "Switchboard has no counterpart"}`,
    );
  const agent: PlannedAgent = {
    id: m.id,
    from: m.from,
    source: from.dir,
    home: resolveAgentHome(home, m.id),
    copy,
    skills: from.skills,
    env: agentEnv,
    jobs: [],
    sessions: [],
    messages: 0,
    continued: 0,
  };
  return { agent, entry };
}

const NOT_CARRIED_WHY: Record<string, string> = {
  "auth.json": "OAuth logins and credential pools are Hermes'; use API keys in the agent's .env",
  "response_store.db":
    "stored Responses-API chains are not sessions; clients start new previous_response_id chains",
  hooks: "gateway hooks are Python (HOOK.yaml + handler.py); port them to a Switchboard plugin",
  plugins: "Hermes plugins are Python; Switchboard plugins are JavaScript modules (plugins:)",
  scripts: "cron pre-run scripts are not supported",
  home: "the per-profile $HOME for subprocesses has no counterpart (no terminal toolset)",
  workspace: "no terminal/file toolset uses a workspace",
  plans: "no planning toolset",
  skins: "CLI skins do not apply to a gateway",
};
