import type { GatewayConfig } from "../../config/load.ts";
import type { Logger } from "../../logger.ts";
import { dmPolicyOf, type UserTier } from "../../pairing/policy.ts";
import type { InboundMessage } from "../../platform.ts";
import type { PairingTable } from "../../sessions/pairing-store.ts";

/**
 * Why the gate turned a message away (the `reason` of an `ignored` dispatch). `pairing`: a stranger's DM on an
 * account with `dm_policy: pairing`; the pairing stage answers it with a code.
 */
export type GateRefusal = "self" | "duplicate" | "empty" | "unauthorized" | "pairing" | "not-mentioned";

const DEDUPE_CAPACITY = 10_000;

type Accounts = GatewayConfig["platformAccounts"];

/** Whether a user list (`allowed_users`, `admins`; ids may be written unquoted in YAML) names the sender. */
export function listsUser(
  list: ReadonlyArray<string | number> | undefined,
  inbound: InboundMessage,
): boolean {
  return !!list?.some(
    (u) =>
      String(u) === inbound.user.id || (inbound.user.idAlt !== undefined && String(u) === inbound.user.idAlt),
  );
}

/** The config of the platform account a message arrived on. */
export function accountConfig(
  accounts: Accounts,
  inbound: InboundMessage,
): Record<string, unknown> | undefined {
  return accounts.get(inbound.platform)?.get(inbound.account) as Record<string, unknown> | undefined;
}

/** Whether a sender's account admins list names them (`/platform`, approving others' tool calls). */
export function isAdmin(accounts: Accounts, inbound: InboundMessage): boolean {
  return listsUser(accountConfig(accounts, inbound)?.admins as Array<string | number> | undefined, inbound);
}

/** Whether a group message must mention the bot (or answer it) to be taken (`require_mention`). */
export function requiresMention(accounts: Accounts, inbound: InboundMessage): boolean {
  if (inbound.chat.type === "dm") return false;
  return accountConfig(accounts, inbound)?.require_mention === true;
}

/** Remembers the last `capacity` message ids, so a platform's redelivery is taken once. */
export class Deduper {
  readonly #seen = new Map<string, true>();
  readonly capacity: number;
  constructor(capacity = DEDUPE_CAPACITY) {
    this.capacity = capacity;
  }

  /** True when the message was seen before; otherwise it is remembered. */
  seen(inbound: InboundMessage): boolean {
    const key = `${inbound.platform}\u0000${inbound.account}\u0000${inbound.chat.id}\u0000${inbound.messageId}`;
    if (this.#seen.has(key)) return true;
    this.#seen.set(key, true);
    if (this.#seen.size > this.capacity) this.#seen.delete(this.#seen.keys().next().value!);
    return false;
  }
}

export interface GateDeps {
  /** The current config's platform accounts (it changes on reload). */
  accounts: () => Accounts;
  logger: Logger;
  dedupeCapacity?: number;
  /** Pairing approvals, read on every message from a user the config does not know (approvals apply at once). */
  approvals?: Pick<PairingTable, "isApproved">;
}

/**
 * The first stage of an inbound message: the bot's own messages, redeliveries, empty messages, senders
 * the account does not allow and unmentioned group messages (where mentions are required) stop here.
 */
export class InboundGate {
  readonly #dedupe: Deduper;
  readonly #warned = new Set<string>();

  readonly #deps: GateDeps;

  constructor(deps: GateDeps) {
    this.#deps = deps;
    this.#dedupe = new Deduper(deps.dedupeCapacity);
  }

  /** Why the message is turned away, or `undefined` when it passes. */
  async check(inbound: InboundMessage): Promise<GateRefusal | undefined> {
    // Self, duplicate and empty are decided before the first await, so a redelivery racing its twin is caught.
    if (inbound.isSelf) return "self";
    if (this.#dedupe.seen(inbound)) return "duplicate";
    if (!inbound.text.trim() && !inbound.media?.length) return "empty";
    const refused = await this.authorize(inbound);
    if (refused) return refused;
    if (requiresMention(this.#deps.accounts(), inbound) && !inbound.mentionsBot && !inbound.replyTo?.fromBot)
      return "not-mentioned";
    return undefined;
  }

  /**
   * Admins, `allow_all_users`, `allowed_users` and approved (paired) users pass; a stranger's DM passes with
   * `dm_policy: open`, goes to pairing with `pairing`, and is refused with `deny` (as is a stranger in a group).
   */
  async authorize(inbound: InboundMessage): Promise<"unauthorized" | "pairing" | undefined> {
    if ((await this.tier(inbound)) !== "stranger") return undefined;
    const cfg = accountConfig(this.#deps.accounts(), inbound);
    const policy = dmPolicyOf(cfg);
    if (inbound.chat.type === "dm") {
      if (policy === "open") return undefined;
      if (policy === "pairing" && this.#deps.approvals) return "pairing";
    }
    const allowed = cfg?.allowed_users as Array<string | number> | undefined;
    if (!allowed?.length && !this.#warned.has(inbound.platform)) {
      this.#warned.add(inbound.platform);
      this.#deps.logger.warn(
        { platform: inbound.platform, account: inbound.account },
        `no users are allowed on ${inbound.platform}: set platforms.${inbound.platform}.allowed_users or allow_all_users: true, or pair users in a DM (dm_policy: pairing)`,
      );
    }
    return "unauthorized";
  }

  /** The sender's tier on the account the message arrived on (`/whoami`). */
  async tier(inbound: InboundMessage): Promise<UserTier> {
    const cfg = accountConfig(this.#deps.accounts(), inbound);
    if (listsUser(cfg?.admins as Array<string | number> | undefined, inbound)) return "admin";
    if (cfg?.allow_all_users === true) return "allowed";
    if (listsUser(cfg?.allowed_users as Array<string | number> | undefined, inbound)) return "allowed";
    const approvals = this.#deps.approvals;
    if (approvals) {
      const { platform, account, user } = inbound;
      if (await approvals.isApproved(platform, account, user.id)) return "paired";
      if (user.idAlt !== undefined && (await approvals.isApproved(platform, account, user.idAlt)))
        return "paired";
    }
    return "stranger";
  }

  isAdmin(inbound: InboundMessage): boolean {
    return isAdmin(this.#deps.accounts(), inbound);
  }
}
