import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "@switchboard/core";
import { SIGN_BUSY_CODE, toPlatformError } from "./errors.ts";
import type { SignToken } from "./types.ts";

export const SIGN_TOKEN_PATH = "/api/v5/robotLogic/sign-token";
/** Sent as `X-Instance-Id` and `DeviceInfo.instance_id`: the value Yuanbao assigns to bot frameworks. */
export const INSTANCE_ID = "17";
export const CLIENT_VERSION = "0.1.0";
const HTTP_TIMEOUT_MS = 10_000;
const BEIJING_OFFSET_MS = 8 * 3600_000;

/** `hex(HMAC_SHA256(key = app_secret, nonce + timestamp + app_key + app_secret))`. */
export function signature(nonce: string, timestamp: string, appKey: string, appSecret: string): string {
  return createHmac("sha256", appSecret)
    .update(nonce + timestamp + appKey + appSecret)
    .digest("hex");
}

/** Beijing time, seconds precision: `2026-01-02T15:04:05+08:00`. */
export function beijingTimestamp(now = Date.now()): string {
  return `${new Date(now + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

export interface SignClientOptions {
  appId: string;
  appSecret: string;
  apiDomain: string;
  logger: Logger;
  retries: number;
  retryDelayMs: number;
  refreshMarginMs: number;
  /** Aborted when the adapter stops. */
  signal?: () => AbortSignal | undefined;
}

/** The token of one bot, signed over HTTP and cached until `duration` minus a margin (per account, never shared). */
export class SignTokenClient {
  readonly #opts: SignClientOptions;
  #cached: { token: SignToken; expiresAt: number } | undefined;
  #pending: Promise<SignToken> | undefined;

  constructor(opts: SignClientOptions) {
    this.#opts = opts;
  }

  /** The cached token while it is fresh, else a newly signed one. */
  get(): Promise<SignToken> {
    const c = this.#cached;
    if (c && c.expiresAt - this.#opts.refreshMarginMs > Date.now()) return Promise.resolve(c.token);
    return this.refresh();
  }

  /** Forget the cached token and sign a new one (concurrent callers share the request). */
  refresh(): Promise<SignToken> {
    this.#cached = undefined;
    this.#pending ??= this.#sign().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #sign(): Promise<SignToken> {
    const { appId, appSecret, retries, retryDelayMs } = this.#opts;
    const url = `${this.#opts.apiDomain}${SIGN_TOKEN_PATH}`;
    for (let attempt = 0; ; attempt++) {
      const nonce = randomBytes(16).toString("hex");
      const timestamp = beijingTimestamp();
      const signal = this.#opts.signal?.();
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "X-AppVersion": CLIENT_VERSION,
            "X-OperationSystem": process.platform,
            "X-Instance-Id": INSTANCE_ID,
            "X-Bot-Version": CLIENT_VERSION,
          },
          body: JSON.stringify({
            app_key: appId,
            nonce,
            signature: signature(nonce, timestamp, appId, appSecret),
            timestamp,
          }),
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)])
            : AbortSignal.timeout(HTTP_TIMEOUT_MS),
        });
      } catch (err) {
        throw toPlatformError({ action: "sign-token", message: (err as Error).message, cause: err });
      }
      const text = await res.text();
      if (res.status !== 200)
        throw toPlatformError({ action: "sign-token", status: res.status, message: text.slice(0, 200) });
      let body: { code?: unknown; msg?: unknown; message?: unknown; data?: Partial<SignToken> };
      try {
        body = JSON.parse(text) as typeof body;
      } catch (err) {
        throw toPlatformError({
          action: "sign-token",
          status: 502,
          message: "the answer is not JSON",
          cause: err,
        });
      }
      const code = typeof body.code === "number" ? body.code : -1;
      if (code === 0 && body.data?.token) {
        const token: SignToken = {
          token: body.data.token,
          bot_id: String(body.data.bot_id ?? ""),
          duration: Number(body.data.duration) > 0 ? Number(body.data.duration) : 3600,
          source: body.data.source || "bot",
          ...(body.data.product ? { product: body.data.product } : {}),
          ...(body.data.route_env ? { route_env: body.data.route_env } : {}),
        };
        this.#cached = { token, expiresAt: Date.now() + token.duration * 1000 };
        return token;
      }
      const message = String(body.msg ?? body.message ?? "no token in the answer");
      if (code === SIGN_BUSY_CODE && attempt < retries) {
        this.#opts.logger.warn({ attempt: attempt + 1, retries }, "yuanbao sign-token busy; retrying");
        await new Promise((r) => setTimeout(r, retryDelayMs));
        continue;
      }
      throw toPlatformError({ action: "sign-token", code, message });
    }
  }
}
