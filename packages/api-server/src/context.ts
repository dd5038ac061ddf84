import type { AgentProfile, ApiServerConfig, Gateway, Logger } from "@switchboard/core";
import type { Context } from "hono";
import type { Principal } from "./auth.ts";
import { KeyRing } from "./auth.ts";
import type { IdempotencyCache } from "./idempotency.ts";
import type { ResponseStore } from "./response-store.ts";
import type { RunRegistry } from "./runs.ts";

/** What every route shares. Settings are read per request so a live config reload takes effect. */
export interface ApiContext {
  gateway: Gateway;
  settings(): ApiServerConfig;
  keys(): KeyRing;
  logger: Logger;
  version: string;
  startedAt: number;
  runs: RunRegistry;
  responses: ResponseStore;
  idempotency: IdempotencyCache;
}

/** Hono variables set by the auth and agent-prefix middleware. */
export interface ApiEnv {
  Variables: {
    principal: Principal;
    /** The agent pinned by `/agents/{id}/v1/...`. */
    pinned: AgentProfile | undefined;
  };
}

export type ApiHonoContext = Context<ApiEnv>;

/** A `KeyRing` cached per `api_server` settings object: digests are computed once per config, not per request. */
export function keyRingCache(settings: () => ApiServerConfig): () => KeyRing {
  let forSettings: ApiServerConfig | undefined;
  let ring: KeyRing | undefined;
  return () => {
    const s = settings();
    if (s !== forSettings || !ring) {
      ring = new KeyRing(s.keys);
      forSettings = s;
    }
    return ring;
  };
}
