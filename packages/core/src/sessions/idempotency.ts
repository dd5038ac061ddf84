/** The answer kept for an `Idempotency-Key`: what a retry gets instead of running the request again. */
export interface IdempotentResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** What `IdempotencyTable.claim` found for a key. */
export type IdempotencyClaim =
  /** Nobody had the key (or its row had expired): the caller runs the request and then `finish`es or `forget`s. */
  | { state: "claimed" }
  /** Another request with the key is still running (on this replica or another). */
  | { state: "pending"; fingerprint: string }
  /** The key's first request has ended: its answer. */
  | { state: "done"; fingerprint: string; response: IdempotentResponse };

/**
 * `Idempotency-Key`s in the store (table `idempotency_keys`), used when several replicas share it, so a
 * client's retry that reaches another replica replays the first answer rather than running the turn again.
 * `key` is the caller's scope (key identity, path, idempotency key); `holder` a token of the claiming request.
 */
export interface IdempotencyTable {
  /** Claim `key` until `expiresAt` (epoch ms) with the request's body `fingerprint`; expired rows go first. */
  claim(
    key: string,
    fingerprint: string,
    holder: string,
    expiresAt: number,
    now?: number,
  ): Promise<IdempotencyClaim>;
  /** Keep the answer of `holder`'s claim until `expiresAt`. False when the claim is gone (expired, taken by another). */
  finish(key: string, holder: string, response: IdempotentResponse, expiresAt: number): Promise<boolean>;
  /** Drop `holder`'s claim, answered or not: a retry runs again. */
  forget(key: string, holder: string): Promise<boolean>;
}

/** A row of `idempotency_keys` as both backends read it (`headers` JSON text, `body` bytes). */
export interface IdempotencyRow {
  fingerprint: string;
  status: number | null;
  headers: string | null;
  body: Buffer | null;
}

/** What `claim` reports for a row another request holds: still running, or its kept answer. */
export function claimOf(row: IdempotencyRow): IdempotencyClaim {
  if (row.status === null || row.status === undefined)
    return { state: "pending", fingerprint: row.fingerprint };
  const body = row.body ?? Buffer.alloc(0);
  return {
    state: "done",
    fingerprint: row.fingerprint,
    response: {
      status: row.status,
      headers: JSON.parse(row.headers ?? "[]") as [string, string][],
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    },
  };
}
