import { randomInt } from "node:crypto";
import { type DmPolicy, type PairingConfig, pairingSchema } from "../config/schema.ts";

/** Who a sender is to a platform account: listed in `admins`, allowed by config, approved by pairing, or unknown. */
export type UserTier = "admin" | "allowed" | "paired" | "stranger";

/** No 0/O, 1/I/L: a code read aloud or typed from a photo is not misread. */
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
export const PAIRING_CODE_LENGTH = 8;

/**
 * An account's DM policy for strangers. Written `dm_policy` wins; otherwise `allow_all_users: true` means
 * `open`, a non-empty `allowed_users` means `deny` (the owner listed who may talk, as before pairing existed),
 * and nothing configured means `pairing`.
 */
export function dmPolicyOf(account: Record<string, unknown> | undefined): DmPolicy {
  const written = account?.dm_policy as DmPolicy | undefined;
  if (written) return written;
  if (account?.allow_all_users === true) return "open";
  const allowed = account?.allowed_users as unknown[] | undefined;
  if (allowed?.length) return "deny";
  return "pairing";
}

/** The account's pairing bounds, defaults filled in. */
export function pairingSettings(account: Record<string, unknown> | undefined): PairingConfig {
  return pairingSchema.parse(account?.pairing ?? {});
}

/** A fresh pairing code: 8 characters of an unambiguous alphabet (about 40 bits). */
export function newPairingCode(): string {
  let code = "";
  for (let i = 0; i < PAIRING_CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}
