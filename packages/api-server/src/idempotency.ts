import { createHash, randomUUID } from "node:crypto";
import { concatBytes, type IdempotencyTable, type Logger } from "@switchboard/core";
import type { Context, MiddlewareHandler, Next } from "hono";
import type { ApiEnv } from "./context.ts";
import { ApiError } from "./errors.ts";
import { readBody } from "./http.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const REPLAYED_HEADER = "Idempotency-Replayed";

/** How long a key is remembered: a day for runs (as upstream), ten minutes for the synchronous APIs. */
export const RUN_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_WINDOW_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_KEYS = 10_000;
/** A larger answer is not kept (a retry of it runs again). */
export const MAX_REPLAY_BYTES = 8 * 1024 * 1024;
/** All kept answers together; past it the oldest keys go first. */
export const DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024;

/** Replicas: how long a repeat waits for the first attempt running on another replica, and how often it looks. */
export const DEFAULT_SHARED_WAIT_MS = 5 * 60 * 1000;
export const DEFAULT_SHARED_POLL_MS = 100;

/** 1-255 visible ASCII characters, as upstream and Stripe accept. */
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const NO_RETRY = { "x-should-retry": "false" };

interface Recorded {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

interface Entry {
  fingerprint: string;
  expiresAt: number;
  /** Settles with the first answer, or `undefined` when it could not be kept (the key is then forgotten). */
  done: Promise<Recorded | undefined>;
  /** Bytes of the kept answer, once settled. */
  bytes: number;
}

export interface IdempotencyOptions {
  maxKeys?: number;
  maxTotalBytes?: number;
  windowMs?: number;
  runWindowMs?: number;
  now?: () => number;
  /**
   * Keys in the store instead (replicas sharing one): a retry that reaches another replica replays the first
   * answer. A repeat of a request still running waits up to `waitMs`, polling every `pollMs`, then gets 409
   * `idempotency_key_in_use`.
   */
  shared?: { table: IdempotencyTable; waitMs?: number; pollMs?: number; logger?: Logger } | undefined;
}

const conflict = () =>
  new ApiError(409, "This Idempotency-Key was already used with a different request body.", {
    code: "idempotency_key_conflict",
    param: "Idempotency-Key",
    headers: NO_RETRY,
  });

/**
 * `Idempotency-Key` for the POST endpoints that run turns. The `openai` SDKs send one with every request and
 * keep it across their own retries, so a retry of a turn that already ran (or is running) gets the first
 * answer — result or error, JSON or the whole SSE stream — instead of running the turn again. Keys are
 * scoped to the API key and the path; the same key with another body is a 409. Kept in memory, bounded by
 * count and age: a restart forgets them; with replicas (`shared`), in the store, so every replica sees them.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #maxTotalBytes: number;
  #bytes = 0;
  readonly #windowMs: number;
  readonly #runWindowMs: number;
  readonly #now: () => number;
  readonly #shared:
    | { table: IdempotencyTable; waitMs: number; pollMs: number; logger: Logger | undefined }
    | undefined;

  constructor(options: IdempotencyOptions = {}) {
    if (options.shared) {
      this.#shared = {
        table: options.shared.table,
        waitMs: options.shared.waitMs ?? DEFAULT_SHARED_WAIT_MS,
        pollMs: options.shared.pollMs ?? DEFAULT_SHARED_POLL_MS,
        logger: options.shared.logger,
      };
    }
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    this.#windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.#runWindowMs = options.runWindowMs ?? RUN_WINDOW_MS;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #delete(key: string, entry: Entry): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  #sweep(now: number): void {
    for (const [k, e] of this.#entries) {
      if (e.expiresAt <= now) this.#delete(k, e);
    }
    this.#trim(1);
  }

  /** Oldest first (insertion order): past a cap, with `room` keys about to be added, the oldest keys go. */
  #trim(room: number): void {
    for (const [k, e] of this.#entries) {
      if (this.#entries.size + room <= this.#maxKeys && this.#bytes <= this.#maxTotalBytes) break;
      this.#delete(k, e);
    }
  }

  /**
   * The middleware; mount it after authentication so keys are scoped to the caller. The body is fingerprinted
   * under the same cap as the route reads it with, so a key never lets an over-size body be buffered.
   */
  middleware(maxBodyBytes: () => number): MiddlewareHandler<ApiEnv> {
    return async (c, next) => {
      const key = c.req.header(IDEMPOTENCY_HEADER);
      if (c.req.method !== "POST" || key === undefined) return next();
      if (!KEY_RE.test(key)) {
        throw new ApiError(400, "Idempotency-Key must be 1 to 255 visible ASCII characters.", {
          code: "invalid_idempotency_key",
          param: "Idempotency-Key",
          headers: NO_RETRY,
        });
      }
      const path = c.req.path;
      const scoped = `${c.get("principal").id}\u0000${path}\u0000${key}`;
      // Read once, under the route's cap (a clone would buffer the whole body first), and hand the route a
      // request over the same bytes.
      const original = c.req.raw;
      const bytes = await readBody(original, maxBodyBytes());
      c.req.raw = new Request(original.url, {
        method: original.method,
        headers: original.headers,
        body: bytes,
        signal: original.signal,
      });
      const fingerprint = createHash("sha256").update(bytes).digest("hex");
      if (this.#shared) return this.#sharedKey(c, next, scoped, fingerprint, path);
      const now = this.#now();
      const existing = this.#entries.get(scoped);
      if (existing && existing.expiresAt > now) {
        if (existing.fingerprint !== fingerprint) throw conflict();
        const recorded = await existing.done;
        if (recorded) {
          c.res = replay(recorded);
          return;
        }
        // The first attempt left nothing to replay (its client went away mid-stream): this one runs.
      }
      this.#sweep(now);
      let settle!: (r: Recorded | undefined) => void;
      const entry: Entry = {
        fingerprint,
        expiresAt: now + this.#windowOf(path),
        done: new Promise((r) => {
          settle = r;
        }),
        bytes: 0,
      };
      this.#entries.set(scoped, entry);
      const forget = () => {
        this.#delete(scoped, entry);
        settle(undefined);
      };
      const keep = (r: Recorded) => {
        if (this.#entries.get(scoped) === entry) {
          entry.bytes = r.body.byteLength;
          this.#bytes += entry.bytes;
          this.#trim(0);
        }
        settle(r);
      };
      await this.#runKept(c, next, keep, forget);
    };
  }

  /** Run the request, then keep its answer as it is sent (`keep`), or `forget` the key if it failed. */
  async #runKept(c: Context<ApiEnv>, next: Next, keep: (r: Recorded) => void, forget: () => void) {
    try {
      await next();
    } catch (err) {
      forget();
      throw err;
    }
    // A caller that gave up (a client timeout) aborted the turn: its retry must run, not replay the abort.
    if (c.req.raw.signal.aborted) return forget();
    c.res = this.#recording(c.res, keep, forget);
  }

  #windowOf(path: string): number {
    return /\/runs$/.test(path) ? this.#runWindowMs : this.#windowMs;
  }

  /**
   * The key in the store (replicas): claim it, or replay the answer another replica kept, or wait (bounded)
   * for the attempt another replica is running. The claim is this request's alone (a random holder token).
   */
  async #sharedKey(
    c: Context<ApiEnv>,
    next: Next,
    scoped: string,
    fingerprint: string,
    path: string,
  ): Promise<void> {
    const { table, waitMs, pollMs, logger } = this.#shared!;
    const holder = randomUUID();
    const deadline = Date.now() + waitMs;
    // A claim still running holds the key for the short window at most (a replica that died mid-request does
    // not block it for a day); the kept answer for the path's whole window.
    const window = this.#windowOf(path);
    const pendingMs = Math.min(window, this.#windowMs);
    for (;;) {
      const now = this.#now();
      const found = await table
        .claim(scoped, fingerprint, holder, now + pendingMs, now)
        .catch((err: unknown) => {
          throw new ApiError(
            503,
            `The Idempotency-Key could not be checked in the store (${(err as Error)?.message ?? String(err)}); nothing was run: retry.`,
            { type: "server_error", code: "store_unavailable", cause: err },
          );
        });
      if (found.state === "claimed") break;
      if (found.fingerprint !== fingerprint) throw conflict();
      if (found.state === "done") {
        c.res = replay(found.response);
        return;
      }
      if (Date.now() >= deadline || c.req.raw.signal.aborted) {
        throw new ApiError(
          409,
          "A request with this Idempotency-Key is still being processed (on another replica); retry later.",
          { code: "idempotency_key_in_use", param: "Idempotency-Key" },
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const forget = () => {
      table.forget(scoped, holder).catch((err: unknown) => {
        // Left behind, the claim expires with its window; until then repeats wait and then get 409.
        logger?.warn({ err }, "api: cannot drop an Idempotency-Key claim from the store");
      });
    };
    const keep = (r: Recorded) => {
      table.finish(scoped, holder, r, this.#now() + window).catch((err: unknown) => {
        logger?.warn({ err }, "api: cannot keep an Idempotency-Key answer in the store");
        forget();
      });
    };
    await this.#runKept(c, next, keep, forget);
  }

  /** Pass the answer through while keeping a copy of it; a streamed one is kept once it has ended. */
  #recording(res: Response, settle: (r: Recorded) => void, forget: () => void): Response {
    const head = { status: res.status, headers: [...res.headers.entries()] };
    if (!res.body) {
      settle({ ...head, body: new Uint8Array(0) });
      return res;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    const copy = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          if (size > MAX_REPLAY_BYTES) forget();
          else settle({ ...head, body: concatBytes(chunks, size) });
          return;
        }
        size += value.byteLength;
        if (size <= MAX_REPLAY_BYTES) chunks.push(value);
        controller.enqueue(value);
      },
      // A client that hangs up aborts the turn: there is nothing to replay, so a retry runs again.
      cancel: async (reason) => {
        forget();
        await reader.cancel(reason);
      },
    });
    return new Response(copy, { status: res.status, headers: res.headers });
  }
}

function replay(r: Recorded): Response {
  const headers = new Headers(r.headers);
  headers.set(REPLAYED_HEADER, "true");
  return new Response(r.body.byteLength > 0 ? r.body.slice() : null, { status: r.status, headers });
}
