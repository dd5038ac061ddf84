import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyConfig, BudgetConfig } from "@switchboard/core";
import { unauthorized } from "./errors.ts";

/** Who is calling: one configured key, or anyone when no keys are configured (loopback only). */
export interface Principal {
  /**
   * Stable id of the key, derived from its value (not its name or position): owns runs, stored responses
   * and sessions, so a new key in an old key's slot sees nothing of the old one's.
   */
  id: string;
  /** The key's `name`, for logs. */
  name?: string;
  /** The agents this caller may use. */
  agents: "*" | ReadonlySet<string>;
  /** May read usage, metrics and readiness (`admin: true`; the open loopback API is admin). */
  admin?: boolean;
  /** The key's own budget. */
  budget?: BudgetConfig;
}

/** The principal of an API without keys (loopback only; admin, since only this machine can reach it). */
export const OPEN_PRINCIPAL_ID = "open";
const OPEN_PRINCIPAL: Principal = { id: OPEN_PRINCIPAL_ID, agents: "*", admin: true };

interface CompiledKey {
  digest: Buffer;
  principal: Principal;
}

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * `k` + 24 hex digits of a second hash over the key's digest: stable across restarts and reorderings,
 * safe to store and log, and useless for recovering or checking the key itself.
 */
function keyIdentity(keyDigest: Buffer): string {
  return `k${createHash("sha256").update("switchboard-key-id\u0000").update(keyDigest).digest("hex").slice(0, 24)}`;
}

/** The stable identity (`Principal.id`) of a caller presenting this key value. */
export function principalIdOfKey(value: string): string {
  return keyIdentity(digest(value));
}

/** Precomputed key digests for one `api_server.keys` list. */
export class KeyRing {
  readonly #keys: CompiledKey[];

  constructor(keys: readonly ApiKeyConfig[]) {
    this.#keys = keys.map((k) => {
      const d = digest(k.key);
      const principal: Principal = {
        id: keyIdentity(d),
        agents: k.agents === "*" ? "*" : new Set(k.agents),
        admin: k.admin === true,
        ...(k.budget ? { budget: k.budget } : {}),
      };
      if (k.name) principal.name = k.name;
      return { digest: d, principal };
    });
  }

  get open(): boolean {
    return this.#keys.length === 0;
  }

  /**
   * The principal of an `Authorization` header. Every key is compared (SHA-256 digests, so lengths match,
   * with `timingSafeEqual`), so the time taken says nothing about which key came close.
   */
  authenticate(authorization: string | undefined): Principal {
    if (this.#keys.length === 0) return OPEN_PRINCIPAL;
    if (!authorization) {
      throw unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
    }
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!match) throw unauthorized("The Authorization header must be 'Bearer <key>'.");
    const presented = digest(match[1]!.trim());
    let found: Principal | undefined;
    for (const k of this.#keys) {
      if (timingSafeEqual(presented, k.digest) && !found) found = k.principal;
    }
    if (!found) throw unauthorized("Incorrect API key provided.");
    return found;
  }
}

export function mayUse(principal: Principal, agentId: string): boolean {
  return principal.agents === "*" || principal.agents.has(agentId);
}
