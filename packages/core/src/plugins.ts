import type { Logger } from "./logger.ts";
import type { InboundMessage } from "./platform.ts";
import type { SessionSource } from "./sessions/source.ts";

export interface SelectAgentPayload {
  /** The agent routing would pick without hooks. */
  agentId: string;
  source: SessionSource;
  inbound?: InboundMessage;
}
export interface SessionPayload {
  agentId: string;
  sessionId: string;
  sessionKey: string;
  source?: SessionSource;
}
export interface SessionEndPayload extends SessionPayload {
  reason: string;
}
export interface SessionResetPayload extends SessionPayload {
  previousSessionId: string;
}
export interface ModelCallPayload {
  agentId: string;
  sessionId: string;
  model: string;
  system: string;
  messageCount: number;
}
export interface ModelResultPayload extends ModelCallPayload {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
  error?: string;
}
export interface ToolCallPayload {
  agentId: string;
  sessionId: string;
  toolName: string;
  input: unknown;
}
export interface ToolResultPayload extends ToolCallPayload {
  output: unknown;
  error?: string;
}

/** Every hook a plugin may implement. Every payload carries `agentId`. */
export interface PluginHooks {
  /** Choose the agent for a source; return nothing to defer to routes. First non-empty answer wins. */
  selectAgent(payload: SelectAgentPayload): string | undefined | null | Promise<string | undefined | null>;
  onSessionStart(payload: SessionPayload): void | Promise<void>;
  onSessionEnd(payload: SessionEndPayload): void | Promise<void>;
  onSessionReset(payload: SessionResetPayload): void | Promise<void>;
  beforeModelCall(payload: ModelCallPayload): void | Promise<void>;
  afterModelCall(payload: ModelResultPayload): void | Promise<void>;
  beforeToolCall(payload: ToolCallPayload): void | Promise<void>;
  afterToolCall(payload: ToolResultPayload): void | Promise<void>;
}
export type HookName = keyof PluginHooks;

export interface Plugin {
  name: string;
  hooks: Partial<PluginHooks>;
}

export function definePlugin(plugin: Plugin): Plugin {
  if (!plugin.name) throw new Error("definePlugin: a plugin needs a name");
  return plugin;
}

/** Calls hooks across plugins; a hook that throws is logged and skipped, never breaking a turn. */
export class HookRunner {
  readonly plugins: readonly Plugin[];
  readonly #logger: Logger | undefined;

  constructor(plugins: readonly Plugin[] = [], logger?: Logger) {
    this.plugins = plugins;
    this.#logger = logger;
  }

  has(name: HookName): boolean {
    return this.plugins.some((p) => typeof p.hooks[name] === "function");
  }

  /** Run `name` on every plugin in order; errors are logged. */
  async emit<K extends Exclude<HookName, "selectAgent">>(
    name: K,
    payload: Parameters<PluginHooks[K]>[0],
  ): Promise<void> {
    for (const p of this.plugins) {
      const fn = p.hooks[name] as ((x: typeof payload) => unknown) | undefined;
      if (!fn) continue;
      try {
        await fn(payload);
      } catch (err) {
        this.#logger?.error(
          { plugin: p.name, hook: name, agent: payload.agentId, err },
          `plugin hook ${p.name}.${name} failed`,
        );
      }
    }
  }

  /** The first non-empty `selectAgent` answer, with the plugin that gave it. */
  async selectAgent(payload: SelectAgentPayload): Promise<{ agentId: string; plugin: string } | undefined> {
    for (const p of this.plugins) {
      const fn = p.hooks.selectAgent;
      if (!fn) continue;
      try {
        const answer = await fn(payload);
        if (answer) return { agentId: answer, plugin: p.name };
      } catch (err) {
        this.#logger?.error(
          { plugin: p.name, hook: "selectAgent", agent: payload.agentId, err },
          `plugin hook ${p.name}.selectAgent failed`,
        );
      }
    }
    return undefined;
  }
}
