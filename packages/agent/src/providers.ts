import { createHash } from "node:crypto";
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

/**
 * The SDK of each provider kind, imported on the first agent that uses it: a gateway that only runs
 * openai-compatible agents never loads the OpenAI and Anthropic SDKs (several MB of code each).
 */
const loaded: {
  openai?: typeof import("@ai-sdk/openai");
  anthropic?: typeof import("@ai-sdk/anthropic");
  "openai-compatible"?: typeof import("@ai-sdk/openai-compatible");
} = {};

async function loadSdk(kind: AgentProfile["provider"]["kind"]): Promise<void> {
  if (kind === "openai") loaded.openai ??= await import("@ai-sdk/openai");
  else if (kind === "anthropic") loaded.anthropic ??= await import("@ai-sdk/anthropic");
  else if (kind === "openai-compatible")
    loaded["openai-compatible"] ??= await import("@ai-sdk/openai-compatible");
}

/** One provider client: every agent on the same endpoint, key and headers shares it and its models. */
interface Client {
  create: (name: string) => LanguageModel;
  models: Map<string, LanguageModel>;
}

/** What an agent's fingerprint was computed from last, so an unchanged agent skips the hash on every turn. */
interface Seen {
  provider: AgentProfile["provider"];
  apiKey: string | undefined;
  fingerprint: string;
}

/**
 * Provider clients and their model instances, created lazily on the first turn that needs them and shared
 * by every agent with the same endpoint, key and headers (the SDK's model objects carry their own compiled
 * response schemas, tens of kilobytes each). A rotated key or a reloaded endpoint gives the agent another
 * client; a client no agent points at any more is dropped.
 */
export class ModelCache {
  readonly #clients = new Map<string, Client>();
  readonly #seen = new Map<string, Seen>();
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

  /** Provider clients alive (one per distinct endpoint, key and headers in use). */
  get size(): number {
    return this.#clients.size;
  }

  /** The agent's model, with its key read by `secret()` in the agent's own scope. Rejects with `AgentError` when it cannot. */
  async resolve(agent: AgentProfile): Promise<ResolvedModel> {
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
        `Agent "${agent.id}" has no API key for provider "${provider.name}": the operator must set ${provider.apiKeyEnv} for this agent.`,
        {
          detail: `Agent "${agent.id}" has no API key for provider "${provider.name}": ${secretHint(provider.apiKeyEnv, agent)}.`,
        },
      );
    }
    if (provider.kind === "openai-compatible" && !provider.baseUrl) {
      throw new AgentError(
        "config",
        `Provider "${provider.name}" (openai-compatible) has no base_url: set providers.${provider.name}.base_url in config.yaml.`,
      );
    }
    let seen = this.#seen.get(agent.id);
    if (!seen || seen.provider !== provider || seen.apiKey !== apiKey) {
      const fingerprint = createHash("sha256")
        .update(
          JSON.stringify([
            provider.kind,
            provider.name,
            provider.baseUrl ?? "",
            apiKey ?? "",
            provider.headers ?? {},
          ]),
        )
        .digest("base64");
      const previous = seen?.fingerprint;
      seen = { provider, apiKey, fingerprint };
      this.#seen.set(agent.id, seen);
      if (previous !== undefined && previous !== fingerprint) this.#dropUnused(previous);
    }
    let client = this.#clients.get(seen.fingerprint);
    if (!client) {
      await loadSdk(provider.kind);
      // Another turn may have created it while the SDK loaded.
      client = this.#clients.get(seen.fingerprint);
      if (!client) {
        client = { create: this.#factory(agent, apiKey), models: new Map() };
        this.#clients.set(seen.fingerprint, client);
      }
    }
    let model = client.models.get(name);
    if (!model) {
      model = client.create(name);
      client.models.set(name, model);
    }
    return { model, label };
  }

  /** Forget a client once no agent uses it (after a key rotation or an endpoint change). */
  #dropUnused(fingerprint: string): void {
    for (const s of this.#seen.values()) if (s.fingerprint === fingerprint) return;
    this.#clients.delete(fingerprint);
  }

  #factory(agent: AgentProfile, apiKey: string | undefined): (name: string) => LanguageModel {
    const p = agent.provider;
    const common = { ...(p.headers ? { headers: p.headers } : {}), fetch: this.#fetch };
    switch (p.kind) {
      case "openai": {
        // Chat Completions: the API every OpenAI-compatible proxy also speaks. Key and URL are always
        // explicit so the SDK never reads OPENAI_API_KEY / OPENAI_BASE_URL from the process environment.
        const provider = loaded.openai!.createOpenAI({
          apiKey: apiKey ?? "",
          baseURL: p.baseUrl ?? DEFAULT_BASE_URLS.openai!,
          name: p.name,
          ...common,
        });
        return (name) => provider.chat(name);
      }
      case "anthropic": {
        const provider = loaded.anthropic!.createAnthropic({
          apiKey: apiKey ?? "",
          baseURL: p.baseUrl ?? DEFAULT_BASE_URLS.anthropic!,
          name: p.name,
          ...common,
        });
        return (name) => provider.messages(name);
      }
      case "openai-compatible": {
        const provider = loaded["openai-compatible"]!.createOpenAICompatible({
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
