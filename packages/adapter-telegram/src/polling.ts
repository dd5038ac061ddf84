import { AuthError, type Logger, RateLimitError } from "@switchboard/core";
import type { Api } from "grammy";
import type { Update } from "grammy/types";
import { toPlatformError } from "./errors.ts";
import { ALLOWED_UPDATES } from "./normalize.ts";
import type { UpdateOffsets } from "./offset-store.ts";

const BATCH_LIMIT = 100;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** How often one update is offered to core before it is skipped, so one bad update cannot block the bot. */
const DISPATCH_ATTEMPTS = 3;
/** `stop()` tells Telegram which updates were handled; it must never hang on an unreachable API. */
const CONFIRM_TIMEOUT_MS = 3_000;
/** How long `stop()` waits for an update core is still accepting. */
const STOP_WAIT_MS = 5_000;

export interface PollerOptions {
  api: Api;
  timeoutSeconds: number;
  logger: Logger;
  /** Runs once before the first `getUpdates`: identity, webhook removal, the stored offset. */
  prepare(signal: AbortSignal): Promise<UpdateOffsets | undefined>;
  /** Normalize and dispatch one update; resolves once core accepted it. */
  handle(update: Update): Promise<void>;
  /** Tell core the connection state (`/health/ready`): reconnecting while polls fail, connected again after. */
  report?: (state: "connected" | "reconnecting" | "failed", reason?: string) => void;
}

/**
 * The long-polling loop. An update is confirmed (the offset moves past it) only after `handle`
 * resolved, and the offset is written to the state file after every batch and confirmed to Telegram
 * on `stop()`, so a restart neither loses nor repeats updates. Failures back off exponentially up to
 * 30 s (429 waits `retry_after`) and the loop keeps going until stopped; only a rejected token ends it.
 */
export class Poller {
  readonly #opts: PollerOptions;
  readonly #abort = new AbortController();
  #done: Promise<void> | undefined;
  #store: UpdateOffsets | undefined;
  #prepared = false;
  /** The next `update_id` wanted: everything below it was handed to core. */
  #offset: number | undefined;
  /** The offset Telegram last saw in a `getUpdates` call (updates below it are confirmed there). */
  #confirmedRemote: number | undefined;
  #persisted: number | undefined;

  constructor(opts: PollerOptions) {
    this.#opts = opts;
  }

  start(): void {
    this.#done ??= this.#loop();
  }

  /** Abort the parked long poll without waiting (the gateway's signal fired). */
  abort(): void {
    this.#abort.abort();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    // The loop may be waiting on core to accept an update; that wait is bounded too.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#done, new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    await this.#persist().catch((err) =>
      this.#opts.logger.warn({ err }, "could not save the Telegram offset"),
    );
    await this.#confirm();
  }

  async #loop(): Promise<void> {
    const { api, logger } = this.#opts;
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.#prepared) {
          this.#store = await this.#opts.prepare(signal);
          const last = await this.#store?.load();
          if (last !== undefined) this.#offset = this.#persisted = last + 1;
          this.#prepared = true;
        }
        const updates = await api.getUpdates(
          {
            offset: this.#offset,
            limit: BATCH_LIMIT,
            timeout: this.#opts.timeoutSeconds,
            allowed_updates: [...ALLOWED_UPDATES],
          },
          grammySignal(signal),
        );
        this.#confirmedRemote = this.#offset;
        if (failures > 0) {
          logger.info({ failures }, "Telegram polling recovered");
          this.#opts.report?.("connected");
        }
        failures = 0;
        for (const update of updates) {
          // Not handed to core, so not confirmed: a restarted adapter receives it again.
          if (signal.aborted) break;
          if (this.#offset !== undefined && update.update_id < this.#offset) continue;
          if (!(await this.#deliver(update))) break;
          this.#offset = update.update_id + 1;
        }
        await this.#persist();
      } catch (err) {
        if (signal.aborted) break;
        const error = toPlatformError(err);
        if (error instanceof AuthError) {
          logger.error({ err: error }, "Telegram rejected the bot token; polling stopped");
          this.#opts.report?.("failed", `Telegram rejected the bot token: ${error.message}`);
          break;
        }
        failures++;
        const delay =
          error instanceof RateLimitError
            ? error.retryAfterMs
            : Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1)) * (0.75 + Math.random() * 0.5);
        logger.warn(
          { err: error.message, failures, retryInMs: Math.round(delay) },
          "Telegram polling failed",
        );
        this.#opts.report?.("reconnecting", error.message);
        await sleep(delay, signal);
      }
    }
  }

  /** `false` when stopped before core accepted the update (it stays unconfirmed). */
  async #deliver(update: Update): Promise<boolean> {
    const signal = this.#abort.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#opts.handle(update);
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        if (attempt >= DISPATCH_ATTEMPTS) {
          this.#opts.logger.error(
            { err, updateId: update.update_id },
            "dispatch failed repeatedly; update skipped",
          );
          return true;
        }
        this.#opts.logger.warn({ err, updateId: update.update_id, attempt }, "dispatch failed; retrying");
        await sleep(100 * attempt, signal);
        if (signal.aborted) return false;
      }
    }
  }

  async #persist(): Promise<void> {
    if (!this.#store || this.#offset === undefined || this.#offset === this.#persisted) return;
    const offset = this.#offset;
    await this.#store.save(offset - 1);
    this.#persisted = offset;
  }

  /** Tell Telegram the handled updates are done, as its API defines: a `getUpdates` with a higher offset. */
  async #confirm(): Promise<void> {
    if (this.#offset === undefined || this.#offset === this.#confirmedRemote) return;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), CONFIRM_TIMEOUT_MS);
    try {
      await this.#opts.api.getUpdates(
        { offset: this.#offset, limit: 1, timeout: 0 },
        grammySignal(abort.signal),
      );
      this.#confirmedRemote = this.#offset;
    } catch (err) {
      this.#opts.logger.warn(
        { err: toPlatformError(err).message },
        "could not confirm the last Telegram updates",
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** grammY types its signals with the `abort-controller` polyfill; a native `AbortSignal` works at runtime. */
export function grammySignal(signal: AbortSignal): Parameters<Api["getUpdates"]>[1] {
  return signal as unknown as Parameters<Api["getUpdates"]>[1];
}

/** Wait `ms`, or less if `signal` aborts; never rejects and leaves no timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
