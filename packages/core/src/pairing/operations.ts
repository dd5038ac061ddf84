import { DEFAULT_ACCOUNT } from "../platform.ts";
import type { PairingApproval, PairingRequest } from "../sessions/pairing-store.ts";
import type { SessionStore } from "../sessions/store-types.ts";

/**
 * The operator's pairing actions, shared by `switchboard pairing`, the `/pair` chat command and the console.
 * Each one is written to the audit log (`pairing.approve`, `pairing.deny`, `pairing.revoke`) with its actor.
 */
type Store = Pick<SessionStore, "pairing" | "audit">;

/** A pairing action that could not be done; the message says what to do instead. */
export class PairingError extends Error {
  override name = "PairingError";
}

export interface PairingOverview {
  pending: PairingRequest[];
  approved: PairingApproval[];
}

/** `<platform>` or `<platform>@<account>`, as `revoke` and `list --platform` take it. */
export function parsePlatformTarget(target: string): { platform: string; account?: string } {
  const [platform, account] = target.split("@", 2) as [string, string | undefined];
  if (!platform) throw new PairingError(`"${target}" is not a platform: write telegram or telegram@account`);
  return account ? { platform, account } : { platform };
}

/** Live codes and approved users (of one platform, or `platform@account`, when given). */
export async function listPairing(store: Store, target?: string, now?: number): Promise<PairingOverview> {
  const where = target ? parsePlatformTarget(target) : {};
  const [pending, approved] = await Promise.all([
    store.pairing.pending({ ...where, ...(now !== undefined ? { now } : {}) }),
    store.pairing.approved(where),
  ]);
  return { pending, approved };
}

const notLive = (code: string) =>
  new PairingError(
    `no pending pairing request has the code ${code.toUpperCase()}: it may have expired or been answered (the user gets a new code by writing again; see switchboard pairing list)`,
  );

/** Let the user who was given `code` in: they pass the gate of that platform account from their next message. */
export async function approvePairing(
  store: Store,
  code: string,
  actor: string,
  now?: number,
): Promise<PairingApproval> {
  const approval = await store.pairing.approve(code, actor, now);
  if (!approval) throw notLive(code);
  await store.audit.append({
    actor,
    action: "pairing.approve",
    target: userTarget(approval),
    detail: { code: approval.code, userName: approval.userName },
  });
  return approval;
}

/** Refuse a code: the request is dropped (the user may ask again, within the per-user rate). */
export async function denyPairing(
  store: Store,
  code: string,
  actor: string,
  now?: number,
): Promise<PairingRequest> {
  const request = await store.pairing.deny(code, now);
  if (!request) throw notLive(code);
  await store.audit.append({
    actor,
    action: "pairing.deny",
    target: userTarget(request),
    detail: { code: request.code, userName: request.userName },
  });
  return request;
}

/** Take a user's approval back (`telegram`: every account; `telegram@work`: that one). Resolves with how many. */
export async function revokePairing(
  store: Store,
  target: string,
  userId: string,
  actor: string,
): Promise<number> {
  const { platform, account } = parsePlatformTarget(target);
  const removed = await store.pairing.revoke(platform, userId, account);
  if (removed === 0)
    throw new PairingError(
      `${userId} is not approved on ${target} (switchboard pairing list shows who is; users listed in allowed_users are changed in config.yaml)`,
    );
  await store.audit.append({
    actor,
    action: "pairing.revoke",
    target: `${target}:${userId}`,
    detail: { removed },
  });
  return removed;
}

/** `telegram:42` for the default account, `telegram@work:42` otherwise. */
export function userTarget(u: { platform: string; account: string; userId: string }): string {
  const where = u.account === DEFAULT_ACCOUNT ? u.platform : `${u.platform}@${u.account}`;
  return `${where}:${u.userId}`;
}
