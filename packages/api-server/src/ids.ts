import { randomUUID } from "node:crypto";

/**
 * `<prefix><hex>` (at most 32 hex digits): `chatcmpl-…`, `resp_…`, `run_…`. `randomUUID` draws from a
 * cached entropy pool, so it is cheap per request; its fixed version nibble costs 4 of 128 bits.
 */
export function newId(prefix: string, hexDigits = 32): string {
  return prefix + randomUUID().replaceAll("-", "").slice(0, hexDigits);
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
