import { createHash } from "node:crypto";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { AgentError, type AgentProfile, secret, secretHint, useAgent } from "@switchboard/core";
import type { LanguageModel } from "ai";
import { createHttpFetch, type HttpFetchOptions, withResponseTimeout } from "./http-fetch.ts";
import type { ProviderLabel } from "./provider-errors.ts";

/** The model used when `model.name` is not set. */
export const DEFAULT_MODEL_NAMES: Partial<Record<AgentProfile["provider"]["kind"], string>> = {
  openai: "gpt-4.1-mini",
  anthropic: "claude-sonnet-4-5",
};
const DEFAULT_BASE_URLS: Partial<Record<AgentProfile["provider"]["kind"], string>> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com/v1",
};

export interface ResolvedModel {
  model: LanguageModel;
  label: ProviderLabel;
}

interface CacheEntry {
  fingerprint: string;
  /** What the fingerprint was computed from last, so an unchanged agent skips the hash on every turn. */
  seen: { provider: AgentProfile["provider"]; apiKey: string | undefined };
  create: (name: string) => LanguageModel;
  models: Map<string, LanguageModel>;
}

/**
 * Provider and model instances, created on an agent's first turn and kept per agent. The entry is replaced
 * when the agent's endpoint or key changes (a rotated key, a reloaded config), so memory stays one entry per
 * agent that actually used a remote model.
 */
export class ModelCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #fetch: typeof fetch;

  /** `responseTimeoutMs` bounds the wait for response headers, which the SDK's chunk timeouts do not cover. */
  constructor(
    options: {
      fetch?: typeof fetch;
      responseTimeoutMs?: number;
      transport?: (options: HttpFetchOptions) => typeof fetch;
    } = {},
  ) {
    const timeoutMs = options.responseTimeoutMs;
    if (options.fetch)
      this.#fetch = timeoutMs ? withResponseTimeout(options.fetch, timeoutMs) : options.fetch;
    else
      this.#fetch = (options.transport ?? createHttpFetch)(timeoutMs ? { responseTimeoutMs: timeoutMs } : {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The agent's model, with its key read by `secret()` in the agent's own scope. Throws `AgentError` when it cannot. */
  resolve(agent: AgentProfile): ResolvedModel {
    const provider = agent.provider;
    const name = agent.model.name ?? DEFAULT_MODEL_NAMES[provider.kind];
    if (!name) {
      throw new AgentError(
        "config",
        `Agent "${agent.id}" uses provider "${provider.name}" (${provider.kind}) without a model name: set agents.${agent.id}.model.name in config.yaml.`,
      );
    }
    const label: ProviderLabel = {
      name: provider.name,
      kind: provider.kind,
      model: name,
      ...(provider.apiKeyEnv ? { apiKeyEnv: provider.apiKeyEnv } : {}),
    };
    const apiKey = provider.apiKeyEnv ? useAgent(agent, () => secret(provider.apiKeyEnv!)) : undefined;
    if (provider.apiKeyEnv && !apiKey) {
      // Fail closed: never fall back to another agent's key or the SDK's own environment lookup.
      throw new AgentError(
        "missing_credentials",
        `Agent "${agent.id}" has no API key for provider "${provider.name}": ${secretHint(provider.apiKeyEnv, agent)}.`,
      );
    }
    if (provider.kind === "openai-compatible" && !provider.baseUrl) {
      throw new AgentError(
        "config",
        `Provider "${provider.name}" (openai-compatible) has no base_url: set providers.${provider.name}.base_url in config.yaml.`,
      );
    }
    let entry = this.#entries.get(agent.id);
    if (!entry || entry.seen.provider !== provider || entry.seen.apiKey !== apiKey) {
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([provider.kind, provider.baseUrl ?? "", apiKey ?? "", provider.headers ?? {}]))
        .digest("base64");
      if (!entry || entry.fingerprint !== fingerprint) {
        entry = {
          fingerprint,
          seen: { provider, apiKey },
          create: this.#factory(agent, apiKey),
          models: new Map(),
        };
        this.#entries.set(agent.id, entry);
      } else entry.seen = { provider, apiKey };
    }
    let model = entry.models.get(name);
    if (!model) {
      model = entry.create(name);
      entry.models.set(name, model);
    }
    return { model, label };
  }

  #factory(agent: AgentProfile, apiKey: string | undefined): (name: string) => LanguageModel {
    const p = agent.provider;
    const common = { ...(p.headers ? { headers: p.headers } : {}), fetch: this.#fetch };
    switch (p.kind) {
      case "openai": {
        // Chat Completions: the API every OpenAI-compatible proxy also speaks. Key and URL are always
        // explicit so the SDK never reads OPENAI_API_KEY / OPENAI_BASE_URL from the process environment.
        const provider = createOpenAI({
          apiKey: apiKey ?? "",
          baseURL: p.baseUrl ?? DEFAULT_BASE_URLS.openai!,
          name: p.name,
          ...common,
        });
        return (name) => provider.chat(name);
      }
      case "anthropic": {
        const provider = createAnthropic({
          apiKey: apiKey ?? "",
          baseURL: p.baseUrl ?? DEFAULT_BASE_URLS.anthropic!,
          name: p.name,
          ...common,
        });
        return (name) => provider.messages(name);
      }
      case "openai-compatible": {
        const provider = createOpenAICompatible({
          name: p.name,
          baseURL: p.baseUrl!,
          includeUsage: true,
          // A caller's `json_schema` response format reaches the server as such, not downgraded to `json_object`.
          supportsStructuredOutputs: true,
          ...(apiKey ? { apiKey } : {}),
          ...common,
        });
        return (name) => provider.chatModel(name);
      }
      default:
        throw new AgentError("config", `Provider kind "${p.kind}" has no model SDK.`);
    }
  }
}
