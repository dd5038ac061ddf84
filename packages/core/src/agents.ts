import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type {
  AgentConfig,
  McpServerConfig,
  ModelConfig,
  ParsedConfig,
  ProviderConfig,
  Toolset,
} from "./config/schema.ts";
import { MAIN_AGENT, TOOLSETS } from "./config/schema.ts";

/** A provider endpoint, resolved from `providers:` or from a bare provider kind. */
export interface ResolvedProvider {
  /** The `providers:` entry name, or the kind when used bare. */
  name: string;
  kind: ProviderConfig["kind"];
  baseUrl?: string;
  /** The variable holding the key, read with `secret()` inside the agent's scope. */
  apiKeyEnv?: string;
  headers?: Record<string, string>;
}

/** Everything the gateway knows about one agent, resolved from config. */
export interface AgentProfile {
  id: string;
  name: string;
  description?: string;
  /** This agent's home: SOUL.md, .env, memories/, skills/, cron/. */
  home: string;
  /** The root home (config.yaml, state.db, the root .env). */
  rootHome: string;
  isMain: boolean;
  model: ModelConfig;
  provider: ResolvedProvider;
  /** The models `/model` may switch a session to: the agent's own first, then `agents.<id>.models`. */
  models?: AgentModel[];
  toolsets: Toolset[];
  expose: boolean;
  /** `own`: secrets only from this agent's `.env` and `env:`; `inherit`: also the root `.env` and process env. */
  secrets: "own" | "inherit";
  env: Record<string, string>;
  cron: { allowedTargets: string[] };
  /** This agent's MCP servers by name (`agents.<id>.mcp`); empty when none. */
  mcp: Record<string, McpServerConfig>;
  /** Built-in tools that wait for a human's approval (`agents.<id>.approval`). */
  approval: string[];
  /** How long an approval prompt waits before the call is denied. */
  approvalTimeoutMs: number;
  /** Agents the `delegate` tool may hand tasks to (`agents.<id>.delegate_to`). */
  delegateTo: string[];
  /** `agents.<id>.turn_timeout_s` in ms: a turn still running after this is stopped with an error. */
  turnTimeoutMs: number;
  /** The root `.env` values and process environment, consulted only when secrets may be inherited. */
  inheritedEnv: () => Record<string, string | undefined>;
}

/** `agents.<id>.turn_timeout_s` when unset: ten minutes. */
export const DEFAULT_TURN_TIMEOUT_S = 600;

export const DEFAULT_API_KEY_ENV: Partial<Record<ProviderConfig["kind"], string>> = {
  openai: "OPENAI_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
};

/** How long an approval prompt waits by default before the call is denied (5 minutes). */
export const DEFAULT_APPROVAL_TIMEOUT_S = 300;

/** The root home: `$SWITCHBOARD_HOME`, else `~/.switchboard`. */
export function defaultRootHome(env: Record<string, string | undefined> = process.env): string {
  const h = env.SWITCHBOARD_HOME;
  return h ? resolve(h) : join(homedir(), ".switchboard");
}

/** `agents.<id>.home` if set (relative paths are relative to the root, `~/` is the user's home), else `<root>/agents/<id>`; `main` lives in the root. */
export function resolveAgentHome(rootHome: string, id: string, configured?: string): string {
  if (configured === "~" || configured?.startsWith("~/")) return join(homedir(), configured.slice(1));
  if (configured) return isAbsolute(configured) ? resolve(configured) : resolve(rootHome, configured);
  return id === MAIN_AGENT ? rootHome : join(rootHome, "agents", id);
}

/** Resolve `model.provider` to an endpoint; `undefined` when it names neither a provider entry nor a kind. */
export function resolveProvider(
  config: Pick<ParsedConfig, "providers">,
  model: ModelConfig,
): ResolvedProvider | undefined {
  const named = config.providers[model.provider];
  if (named) {
    return {
      name: model.provider,
      kind: named.kind,
      ...(named.base_url ? { baseUrl: named.base_url } : {}),
      ...((named.api_key_env ?? DEFAULT_API_KEY_ENV[named.kind])
        ? { apiKeyEnv: named.api_key_env ?? DEFAULT_API_KEY_ENV[named.kind] }
        : {}),
      ...(named.headers ? { headers: named.headers } : {}),
    };
  }
  const kind = model.provider as ProviderConfig["kind"];
  if (kind === "echo" || kind === "openai" || kind === "anthropic") {
    const apiKeyEnv = DEFAULT_API_KEY_ENV[kind];
    return { name: kind, kind, ...(apiKeyEnv ? { apiKeyEnv } : {}) };
  }
  return undefined;
}

/** One model an agent may run on, by the label `/model` shows: `provider/name` (or the provider alone). */
export interface AgentModel {
  label: string;
  model: ModelConfig;
  provider: ResolvedProvider;
}

/** The label of a model: `openai/gpt-4.1-mini`, or `echo` for a provider without a model name. */
export function modelLabel(model: ModelConfig): string {
  return model.name ? `${model.provider}/${model.name}` : model.provider;
}

/**
 * The agent's allowed models: its own model first, then `agents.<id>.models` (duplicates dropped). A label or a
 * bare model name finds one (`/model gpt-4.1` when only one provider serves it).
 */
export function allowedModels(profile: AgentProfile): AgentModel[] {
  return profile.models?.length
    ? profile.models
    : [{ label: modelLabel(profile.model), model: profile.model, provider: profile.provider }];
}

/** The allowed model `name` means (a label, or a bare model name that is unique), if any. */
export function findAllowedModel(profile: AgentProfile, name: string): AgentModel | undefined {
  const all = allowedModels(profile);
  const exact = all.find((m) => m.label === name);
  if (exact) return exact;
  const byName = all.filter((m) => m.model.name === name || m.model.provider === name);
  return byName.length === 1 ? byName[0] : undefined;
}

/**
 * The profile a turn of `session` runs on: the agent's, with its model replaced by the session's when `/model`
 * chose another of the allowed models (a model no longer allowed falls back to the agent's own).
 */
export function profileForSession(profile: AgentProfile, session: { model: string | null }): AgentProfile {
  if (!session.model || !profile.models || profile.models.length < 2) return profile;
  const chosen = profile.models.find((m) => m.label === session.model);
  if (!chosen || chosen.label === profile.models[0]!.label) return profile;
  return { ...profile, model: chosen.model, provider: chosen.provider };
}

export function buildProfile(
  config: Pick<ParsedConfig, "providers" | "model">,
  rootHome: string,
  id: string,
  agent: AgentConfig,
  inheritedEnv: () => Record<string, string | undefined>,
): AgentProfile {
  const model = agent.model ?? config.model;
  const provider = resolveProvider(config, model) ?? { name: model.provider, kind: "echo" };
  const models: AgentModel[] = [{ label: modelLabel(model), model, provider }];
  for (const m of agent.models ?? []) {
    if (models.some((x) => x.label === modelLabel(m))) continue;
    models.push({
      label: modelLabel(m),
      model: m,
      provider: resolveProvider(config, m) ?? { name: m.provider, kind: "echo" },
    });
  }
  return {
    id,
    name: agent.name ?? id,
    ...(agent.description ? { description: agent.description } : {}),
    home: resolveAgentHome(rootHome, id, agent.home),
    rootHome,
    isMain: id === MAIN_AGENT,
    model,
    provider,
    models,
    toolsets: agent.toolsets ?? [...TOOLSETS],
    expose: agent.expose,
    secrets: agent.secrets ?? (id === MAIN_AGENT ? "inherit" : "own"),
    env: agent.env ?? {},
    cron: { allowedTargets: agent.cron?.allowed_targets ?? [] },
    mcp: agent.mcp ?? {},
    approval: agent.approval ?? [],
    approvalTimeoutMs: (agent.approval_timeout_s ?? DEFAULT_APPROVAL_TIMEOUT_S) * 1000,
    delegateTo: agent.delegate_to ?? [],
    turnTimeoutMs: (agent.turn_timeout_s ?? DEFAULT_TURN_TIMEOUT_S) * 1000,
    inheritedEnv,
  };
}

/** The agents of one config, by id. `main` always exists. */
export class AgentRegistry {
  readonly #profiles: Map<string, AgentProfile>;

  constructor(profiles: Iterable<AgentProfile>) {
    this.#profiles = new Map([...profiles].map((p) => [p.id, p]));
    if (!this.#profiles.has(MAIN_AGENT)) throw new Error("AgentRegistry: the main agent must exist");
  }

  get main(): AgentProfile {
    return this.#profiles.get(MAIN_AGENT)!;
  }
  get(id: string): AgentProfile | undefined {
    return this.#profiles.get(id);
  }
  has(id: string): boolean {
    return this.#profiles.has(id);
  }
  list(): AgentProfile[] {
    return [...this.#profiles.values()];
  }
  ids(): string[] {
    return [...this.#profiles.keys()];
  }
  get size(): number {
    return this.#profiles.size;
  }
}
