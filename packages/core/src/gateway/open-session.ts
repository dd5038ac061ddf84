import type { AgentProfile } from "../agents.ts";
import type { GatewayConfig } from "../config/load.ts";
import type { HookRunner } from "../plugins.ts";
import type { SessionSource } from "../sessions/source.ts";
import type {
  GetOrCreateResult,
  InboundKey,
  NewMessage,
  SessionRecord,
  SessionStore,
} from "../sessions/store-types.ts";

export interface SessionOpenDeps {
  store: SessionStore;
  hooks: HookRunner;
  /** The current config (its reset policy). */
  config: () => GatewayConfig;
  now?: (() => Date) | undefined;
}

/** The session of a key under the config's reset policy; `forceNew` closes the current one (`/new`). */
export function getOrCreate(
  deps: SessionOpenDeps,
  key: string,
  source: SessionSource,
  profile: AgentProfile,
  forceNew = false,
  append?: NewMessage[],
  claim?: InboundKey,
): Promise<GetOrCreateResult> {
  const { store } = deps;
  return store.getOrCreate(key, source, {
    reset: deps.config().session.reset,
    forceNew,
    ...(append ? { append } : {}),
    ...(claim ? { claim } : {}),
    model: profile.model.name ?? profile.model.provider,
    ...(deps.now ? { now: deps.now().getTime() } : {}),
  });
}

/** Tell the plugins what opening the session did: a reset ended one session and started another. */
export async function sessionHooks(
  hooks: HookRunner,
  r: GetOrCreateResult,
  key: string,
  source: SessionSource,
  profile: AgentProfile,
): Promise<void> {
  if (r.previous) {
    await hooks.emit("onSessionEnd", {
      agentId: profile.id,
      sessionId: r.previous.id,
      sessionKey: key,
      reason: r.reason ?? "reset",
      source,
    });
    await hooks.emit("onSessionReset", {
      agentId: profile.id,
      sessionId: r.session.id,
      previousSessionId: r.previous.id,
      sessionKey: key,
      source,
    });
  }
  if (r.created)
    await hooks.emit("onSessionStart", {
      agentId: profile.id,
      sessionId: r.session.id,
      sessionKey: key,
      source,
    });
}

/** Open (or continue) a session and run its hooks. */
export async function openSession(
  deps: SessionOpenDeps,
  key: string,
  source: SessionSource,
  profile: AgentProfile,
  opts: { forceNew?: boolean } = {},
): Promise<SessionRecord> {
  const r = await getOrCreate(deps, key, source, profile, opts.forceNew ?? false);
  await sessionHooks(deps.hooks, r, key, source, profile);
  return r.session;
}
