import { isRecord } from "./read-home.ts";
/** A provider endpoint the import adds under `providers:`. */
export interface ProviderEntry {
  kind: "openai" | "openai-compatible" | "anthropic";
  base_url?: string;
  api_key_env?: string;
}

export interface ModelChoice {
  /** `agents.<id>.model`; undefined keeps the default model. With `provider`, the plan renames `model.provider` to the name it is defined under. */
  model?: { provider: string; name?: string };
  /** A provider to define (its name is chosen by `Providers.add`). */
  provider?: { base: string; entry: ProviderEntry };
  /** Variables to add to the agent's `.env` (an inline `api_key` moves there). */
  env: Record<string, string>;
  notes: string[];
}

/** Providers that sign in through Hermes' `auth.json` (OAuth, device codes): nothing a config can carry. */
const OAUTH_PROVIDERS = new Set(["nous", "openai-codex", "copilot", "azure-foundry", "qwen-oauth", "google"]);
const LOCAL = new Set(["custom", "ollama", "vllm", "llamacpp", "lmstudio"]);
const OPENROUTER_URL = "https://openrouter.ai/api/v1";

const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);

/** The Hermes model settings of a profile (`model:` as a string or a mapping) or of a multi-agent `agents.<id>` entry. */
export interface HermesModel {
  name?: string;
  provider?: string;
  baseUrl?: string;
  apiKey?: string;
  apiKeyEnv?: string;
}

export function hermesModel(value: unknown, entry: Record<string, unknown> = {}): HermesModel {
  const m: HermesModel = {};
  if (typeof value === "string") m.name = value;
  else if (isRecord(value)) {
    const name = str(value.default) ?? str(value.model) ?? str(value.name);
    if (name) m.name = name;
    if (str(value.provider)) m.provider = str(value.provider)!;
    if (str(value.base_url)) m.baseUrl = str(value.base_url)!;
    if (str(value.api_key)) m.apiKey = str(value.api_key)!;
  }
  if (str(entry.provider)) m.provider = str(entry.provider)!;
  if (str(entry.base_url)) m.baseUrl = str(entry.base_url)!;
  if (str(entry.api_key_env)) m.apiKeyEnv = str(entry.api_key_env)!;
  return m;
}

/**
 * Map a Hermes model + provider to Switchboard's. `env` is the profile's `.env` (to pick a key variable that
 * exists, as Hermes' `auto` provider does); `custom` holds the profile's named `providers:` entries.
 */
export function mapModel(
  who: string,
  m: HermesModel,
  env: Record<string, string>,
  custom: Record<string, unknown> = {},
): ModelChoice {
  const out: ModelChoice = { env: {}, notes: [] };
  if (!m.name) {
    if (m.provider || m.baseUrl)
      out.notes.push(`${who}: a provider but no model name is set: it uses the default model`);
    return out;
  }
  let provider = (m.provider ?? "auto").toLowerCase();
  const named = isRecord(custom[provider]) ? (custom[provider] as Record<string, unknown>) : undefined;
  const keyVar = (fallbacks: string[]) => m.apiKeyEnv ?? fallbacks.find((v) => env[v]) ?? fallbacks[0]!;
  const withKey = (variable: string) => {
    if (m.apiKey && !env[variable]) out.env[variable] = m.apiKey;
    return variable;
  };

  if (named) {
    const base = str(named.base_url);
    if (!base) {
      out.notes.push(`${who}: provider "${provider}" has no base_url: it uses the default model`);
      return out;
    }
    const variable = withKey(str(named.key_env) ?? m.apiKeyEnv ?? "OPENAI_API_KEY");
    out.provider = {
      base: provider,
      entry: { kind: "openai-compatible", base_url: base, api_key_env: variable },
    };
    out.model = { provider, name: m.name };
    return out;
  }
  if (OAUTH_PROVIDERS.has(provider)) {
    out.notes.push(
      `${who}: provider "${provider}" signs in through auth.json (OAuth), which Switchboard cannot use: set an API-key provider for this agent; it uses the default model for now`,
    );
    return out;
  }
  if (provider === "auto") {
    if (m.baseUrl?.includes("openrouter.ai")) provider = "openrouter";
    else if (m.baseUrl) provider = "custom";
    else if (env.OPENROUTER_API_KEY) provider = "openrouter";
    else if (env.ANTHROPIC_API_KEY) provider = "anthropic";
    else if (env.OPENAI_API_KEY) provider = "openai";
    else if (m.apiKey) provider = "openrouter";
    else {
      out.notes.push(
        `${who}: provider "auto" found no API key in the profile's .env: model ${m.name} is kept with provider openrouter; add OPENROUTER_API_KEY to the agent's .env`,
      );
      provider = "openrouter";
    }
  }
  if (provider === "anthropic" && !m.baseUrl) {
    const variable = withKey(keyVar(["ANTHROPIC_API_KEY"]));
    if (variable !== "ANTHROPIC_API_KEY")
      out.provider = {
        base: `anthropic-${variable.toLowerCase()}`,
        entry: { kind: "anthropic", api_key_env: variable },
      };
    out.model = { provider: "anthropic", name: m.name.replace(/^anthropic\//, "") };
    return out;
  }
  if (provider === "openai" && !m.baseUrl) {
    const variable = withKey(keyVar(["OPENAI_API_KEY"]));
    if (variable !== "OPENAI_API_KEY")
      out.provider = {
        base: `openai-${variable.toLowerCase()}`,
        entry: { kind: "openai", api_key_env: variable },
      };
    out.model = { provider: "openai", name: m.name };
    return out;
  }
  if (provider === "openrouter") {
    const variable = withKey(keyVar(["OPENROUTER_API_KEY", "OPENAI_API_KEY"]));
    out.provider = {
      base: "openrouter",
      entry: { kind: "openai-compatible", base_url: m.baseUrl ?? OPENROUTER_URL, api_key_env: variable },
    };
    out.model = { provider: "openrouter", name: m.name };
    return out;
  }
  const base = m.baseUrl ?? (provider === "lmstudio" ? "http://127.0.0.1:1234/v1" : undefined);
  if (!base) {
    out.notes.push(
      `${who}: provider "${provider}" has no base_url Switchboard knows: set providers.<name> { kind: openai-compatible, base_url } for this agent; it uses the default model for now`,
    );
    return out;
  }
  const upper = provider.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const variable = withKey(
    keyVar(LOCAL.has(provider) ? ["OPENAI_API_KEY", "LM_API_KEY"] : [`${upper}_API_KEY`, "OPENAI_API_KEY"]),
  );
  const name = LOCAL.has(provider) ? "custom" : provider;
  out.provider = { base: name, entry: { kind: "openai-compatible", base_url: base, api_key_env: variable } };
  out.model = { provider: name, name: m.name };
  return out;
}

/** The `providers:` map being built: one entry per distinct endpoint, names made unique. */
export class Providers {
  readonly entries: Record<string, ProviderEntry> = {};

  /** The name under which `entry` is defined (an existing identical entry is reused). */
  add(base: string, entry: ProviderEntry): string {
    const same = (e: ProviderEntry) => JSON.stringify(e) === JSON.stringify(entry);
    const safe =
      base
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, "-")
        .replace(/^[^a-z0-9]+/, "") || "provider";
    for (let i = 1; ; i++) {
      const name = i === 1 ? safe : `${safe}-${i}`;
      const existing = this.entries[name];
      if (!existing) {
        this.entries[name] = entry;
        return name;
      }
      if (same(existing)) return name;
    }
  }
}
