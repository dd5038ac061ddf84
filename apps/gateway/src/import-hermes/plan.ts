import { join } from "node:path";
import {
  AGENT_ID_PATTERN,
  buildConfig,
  type CronJob,
  createRouter,
  DEFAULT_ACCOUNT,
  type ImportedSession,
  MAIN_AGENT,
  MATCH_KEYS,
  resolveAgentHome,
} from "@switchboard/core";
import { convertJob } from "./cron.ts";
import { hermesModel, mapModel, Providers } from "./models.ts";
import { PLATFORM_MAP, platformVariables, profilePlatforms } from "./platforms.ts";
import type { HermesHome, HermesProfile } from "./read-home.ts";
import { planSessions } from "./sessions.ts";

export interface PlannedAgent {
  id: string;
  /** The Hermes profile (or multi-agent entry) it comes from. */
  from: string;
  /** The Hermes directory its files come from; undefined for a multi-agent entry that shares the default home. */
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

export interface PlannedAccount {
  platform: string;
  account: string;
  agent: string;
  /** The root `.env` variables holding its credentials. */
  variables: string[];
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

const isRecord = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const truthy = (v: unknown) => v === true || (typeof v === "string" && /^(1|true|yes|on)$/i.test(v.trim()));
const envSuffix = (id: string) => id.toUpperCase().replace(/[^A-Z0-9]/g, "_");

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
  const gatewayCfg = isRecord(rootCfg.gateway) ? rootCfg.gateway : {};
  const multiAgents = isRecord(rootCfg.agents) ? rootCfg.agents : {};

  // --- agents and their ids ---------------------------------------------------------------------
  const taken = new Set<string>([MAIN_AGENT]);
  const idOf = new Map<string, string>(); // Hermes profile name or multi-agent id → agent id
  const members: Array<{
    id: string;
    profile: HermesProfile | undefined;
    from: string;
    entry: Record<string, unknown>;
  }> = [];
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

  // --- platforms: one account per distinct credential -------------------------------------------
  const accounts: PlannedAccount[] = [];
  const platforms: Record<string, { accounts: Record<string, Record<string, unknown>> }> = {};
  const rootEnv: Record<string, string> = {};
  const ownAccount = new Map<string, string>(); // `${agent}\0${platform}` → account
  const byIdentity = new Map<string, PlannedAccount>();
  const routes: Array<Record<string, unknown>> = [];
  const accountRoutes: Array<Record<string, unknown>> = [];
  for (const m of members) {
    if (!m.profile) continue;
    for (const pp of profilePlatforms(m.profile, m.from, notes)) {
      const idKey = `${pp.platform}\0${pp.identity}`;
      const shared = byIdentity.get(idKey);
      if (shared) {
        if (shared.agent !== m.id)
          notes.push(
            `${m.from}: uses the same ${pp.platform} bot as agent ${shared.agent}: one account (${shared.account}); its chats reach ${m.id} only through routes`,
          );
        continue;
      }
      const account = m.id === MAIN_AGENT ? DEFAULT_ACCOUNT : m.id;
      const suffix = account === DEFAULT_ACCOUNT ? "" : `_${envSuffix(account)}`;
      const acc: Record<string, unknown> = { ...pp.values };
      const variables: string[] = [];
      for (const [key, { value, env }] of Object.entries(pp.secrets)) {
        const variable = `${env}${suffix}`;
        rootEnv[variable] = value;
        acc[key] = `\${${variable}}`;
        variables.push(variable);
      }
      if (pp.allowAll) acc.allow_all_users = true;
      else if (pp.allowedUsers.length) acc.allowed_users = pp.allowedUsers;
      else
        notes.push(
          `${m.from}: ${pp.platform} has no allowlist: as in Hermes nobody is answered until platforms.${pp.platform}.accounts.${account}.allowed_users (or allow_all_users) is set`,
        );
      (platforms[pp.platform] ??= { accounts: {} }).accounts[account] = acc;
      const planned = { platform: pp.platform, account, agent: m.id, variables };
      accounts.push(planned);
      byIdentity.set(idKey, planned);
      ownAccount.set(`${m.id}\0${pp.platform}`, account);
      if (m.id !== MAIN_AGENT)
        accountRoutes.push({
          name: `hermes ${m.from}`,
          match: { platform: pp.platform, account },
          agent: m.id,
        });
    }
  }
  const mainAccount = (platform: string) => ownAccount.get(`${MAIN_AGENT}\0${platform}`);
  const accountOf = (agent: string) => (platform: string) =>
    ownAccount.get(`${agent}\0${platform}`) ??
    mainAccount(platform) ??
    accounts.find((a) => a.platform === platform)?.account;

  // --- routes: multi-agent `routes:`, then `profile_routes`, then each profile's own bot -----------
  const hermesRoutes = Array.isArray(rootCfg.routes) ? rootCfg.routes : [];
  for (const [i, r] of hermesRoutes.entries()) {
    const where = `routes[${i}]`;
    if (!isRecord(r) || !isRecord(r.match) || !str(r.agent)) {
      notes.push(`${where}: malformed: skipped (as Hermes does)`);
      continue;
    }
    const agent = idOf.get(str(r.agent)!);
    if (!agent) {
      notes.push(`${where}: agent ${String(r.agent)} is not defined: skipped`);
      continue;
    }
    const keys = Object.keys(r.match);
    const unknown = keys.filter((k) => !(MATCH_KEYS as readonly string[]).includes(k) || k === "account");
    if (!keys.length || unknown.length) {
      notes.push(
        `${where}: ${keys.length ? `unknown match keys ${unknown.join(", ")}` : "empty match"}: it never matched in Hermes: skipped`,
      );
      continue;
    }
    const raw = r.match as Record<string, unknown>;
    const match: Record<string, string> = Object.fromEntries(keys.map((k) => [k, String(raw[k])]));
    if (match.platform && mainAccount(match.platform)) match.account = mainAccount(match.platform)!;
    routes.push({ name: `hermes ${where}`, match, agent });
  }
  const multiplex =
    truthy(gatewayCfg.multiplex_profiles) ||
    truthy(rootCfg.multiplex_profiles) ||
    truthy(root.env.GATEWAY_MULTIPLEX_PROFILES);
  const profileRoutes = Array.isArray(gatewayCfg.profile_routes)
    ? gatewayCfg.profile_routes
    : Array.isArray(rootCfg.profile_routes)
      ? rootCfg.profile_routes
      : [];
  if (profileRoutes.length && !multiplex)
    notes.push(
      "gateway.profile_routes is set but multiplex_profiles is off: Hermes ignored them, so does the import",
    );
  const specificity = (r: Record<string, unknown>) => (r.thread_id ? 3 : r.chat_id ? 2 : r.guild_id ? 1 : 0);
  const ordered = (multiplex ? profileRoutes : [])
    .map((r, i) => ({ r, i }))
    .filter((x): x is { r: Record<string, unknown>; i: number } => isRecord(x.r))
    .sort((a, b) => specificity(b.r) - specificity(a.r) || a.i - b.i);
  for (const { r, i } of ordered) {
    const where = `gateway.profile_routes[${i}]${str(r.name) ? ` (${str(r.name)})` : ""}`;
    if (r.enabled === false) {
      notes.push(`${where}: disabled: skipped`);
      continue;
    }
    const agent = idOf.get(String(r.profile));
    const platform = str(r.platform);
    if (!agent || !platform || !specificity(r)) {
      notes.push(
        `${where}: ${agent ? "no platform or chat to match" : `profile ${String(r.profile)} does not exist (Hermes rejected its messages; Switchboard sends them to the default agent)`}: skipped`,
      );
      continue;
    }
    const match: Record<string, string> = { platform };
    if (mainAccount(platform)) match.account = mainAccount(platform)!;
    for (const k of ["guild_id", "chat_id", "thread_id"] as const)
      if (r[k] !== undefined) match[k] = String(r[k]);
    routes.push({ name: `hermes ${where}`, match, agent });
    // Upstream: a chat route also covers the threads whose parent is that chat.
    if (match.chat_id && !match.thread_id) {
      const { chat_id, ...rest } = match;
      routes.push({ name: `hermes ${where} (threads)`, match: { ...rest, parent_chat_id: chat_id }, agent });
    }
  }
  routes.push(...accountRoutes);

  // --- models, providers, secrets ----------------------------------------------------------------
  const providers = new Providers();
  const moved = platformVariables();
  const agentsCfg: Record<string, Record<string, unknown>> = {};
  const planned: PlannedAgent[] = [];
  const apiKeys: Array<Record<string, unknown>> = [];
  for (const m of members) {
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
    if (!profile) entry.home = ".";
    const agentEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (!moved.has(k) && k !== "API_SERVER_KEY") agentEnv[k] = v;
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
    agentsCfg[m.id] = entry;
    const copy = profile
      ? [
          ...(profile.soul ? ["SOUL.md"] : []),
          ...(profile.memories ? ["memories"] : []),
          ...(profile.skills.length ? ["skills"] : []),
          ...(profile.cronOutput ? [join("cron", "output")] : []),
        ]
      : [];
    for (const e of profile?.present ?? [])
      notes.push(
        `${m.from}: ${e} is not carried over: ${NOT_CARRIED_WHY[e] ?? "Switchboard has no counterpart"}`,
      );
    planned.push({
      id: m.id,
      from: m.from,
      source: profile?.dir,
      home: resolveAgentHome(home, m.id, profile ? undefined : "."),
      copy,
      skills: profile?.skills ?? [],
      env: agentEnv,
      jobs: [],
      sessions: [],
      messages: 0,
      continued: 0,
    });
  }
  Object.assign(rootEnv, planned[0]!.env);

  // --- the config ---------------------------------------------------------------------------------
  const apiSection = isRecord(isRecord(rootCfg.platforms) ? rootCfg.platforms.api_server : undefined)
    ? ((rootCfg.platforms as Record<string, unknown>).api_server as Record<string, unknown>)
    : {};
  const apiEnabled = truthy(root.env.API_SERVER_ENABLED) || apiSection.enabled === true;
  const api: Record<string, unknown> = { enabled: apiEnabled };
  if (str(root.env.API_SERVER_HOST)) api.host = str(root.env.API_SERVER_HOST);
  const port = Number(root.env.API_SERVER_PORT);
  if (Number.isInteger(port) && port > 0) api.port = port;
  if (apiKeys.length) api.keys = apiKeys;
  if (apiEnabled && multiplex && members.length > 1)
    notes.push(
      "api_server: /p/<profile>/v1/… becomes /agents/<agent>/v1/… (or model: <agent>); each key keeps to its own agent",
    );
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
    const agent = planned[i]!;
    const profile = m.profile;
    if (!profile) continue;
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
    if (allowed.size) agentsCfg[m.id]!.cron = { allowed_targets: [...allowed] };
    // In the multi-agent schema one state.db holds every agent's sessions, told apart by agent_id.
    const groups = new Map<string, NonNullable<HermesProfile["state"]>["sessions"]>();
    for (const s of profile.state?.sessions ?? []) {
      const owner = profile === root ? (idOf.get(s.record.agentId) ?? MAIN_AGENT) : m.id;
      groups.set(owner, [...(groups.get(owner) ?? []), s]);
    }
    for (const [owner, sessions] of groups) {
      const target = planned.find((a) => a.id === owner)!;
      const sp = planSessions(
        { ...profile, state: { routing: [], sessions } },
        { agentId: owner, accountOf: accountOf(owner), router, keyOptions },
      );
      target.sessions.push(...sp.sessions);
      target.messages += sp.messages;
      target.continued += sp.continued;
      notes.push(...sp.notes);
    }
  }
  return { hermesHome: hermes.root, home, agents: planned, accounts, config, rootEnv, notes };
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
