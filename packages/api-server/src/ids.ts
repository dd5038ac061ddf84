import { randomBytes } from "node:crypto";

/** `<prefix><hex>` with `bytes` random bytes: `chatcmpl-…`, `resp_…`, `run_…`. */
export function newId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString("hex");
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
