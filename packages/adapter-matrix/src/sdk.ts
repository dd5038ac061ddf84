import { AuthError, type Logger } from "@switchboard/core";
import { ClientEvent, createClient, type MatrixClient } from "matrix-js-sdk";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
import { logger as sdkRootLogger } from "matrix-js-sdk/lib/logger.js";
import { Agent, fetch as undiciFetch } from "undici";
import { toPlatformError } from "./errors.ts";
import { type MatrixAdapterConfig, PLATFORM } from "./types.ts";

/** Requests the SDK makes without a local timeout still must not hang forever. */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

type LogFn = (this: void, ...msg: unknown[]) => void;

/** The SDK's messages (every HTTP request at debug level) as debug lines; its errors as warnings. */
export function sdkLogger(log: Logger): SdkLogger {
  const at =
    (level: "debug" | "warn"): LogFn =>
    (...msg) =>
      log[level]({ sdk: "matrix-js-sdk" }, msg.map(String).join(" "));
  const quiet: SdkLogger = {
    trace: () => {},
    debug: at("debug"),
    info: at("debug"),
    warn: at("debug"),
    error: at("warn"),
    getChild: () => quiet,
  };
  return quiet;
}

let globalSink: Logger | undefined;
let globalInstalled = false;

/**
 * Some SDK modules (MatrixRTC, retention, …) log through the SDK's global loglevel logger, whose
 * children are created at DEBUG level and print to the console. Route them to the most recently
 * started adapter's logger instead; the global logger is process-wide, so this is installed once.
 */
export function routeGlobalSdkLogging(log: Logger): void {
  globalSink = log.child({ sdk: "matrix-js-sdk" });
  if (globalInstalled) return;
  globalInstalled = true;
  // At runtime the SDK's root logger is a loglevel logger; its typings hide the loglevel API.
  const root = sdkRootLogger as unknown as {
    methodFactory: (methodName: string) => (...msg: unknown[]) => void;
    rebuild(): void;
  };
  root.methodFactory = (methodName) => {
    const level = methodName === "error" ? "warn" : "debug";
    return (...msg: unknown[]) => {
      if (methodName === "trace") return;
      globalSink?.[level](msg.map(String).join(" "));
    };
  };
  root.rebuild();
}

/**
 * The SDK arms each request's local timeout with a plain `setTimeout` (`timeoutSignal()` in
 * `http-api/utils.js`: `/sync` gets pollTimeout + 80 s) that nothing clears, so a stopped client
 * keeps the process alive for ~90 s. Swap it for `AbortSignal.timeout`, whose timer is unref'd and
 * never counts as an open handle; requests without a timeout get a bounded one.
 */
export function useUnrefTimeouts(client: MatrixClient): void {
  const http = client.http;
  const original = http.requestOtherUrl.bind(http);
  type Args = Parameters<typeof original>;
  http.requestOtherUrl = ((method: Args[0], url: Args[1], body?: Args[2], opts?: Args[3]) => {
    const timeout = AbortSignal.timeout(opts?.localTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const abortSignal = opts?.abortSignal ? AbortSignal.any([opts.abortSignal, timeout]) : timeout;
    return original(method, url, body, { ...opts, localTimeoutMs: undefined, abortSignal } as Args[3]);
  }) as typeof http.requestOtherUrl;
}

/**
 * A bot has no use for MatrixRTC (group calls); its session manager only adds work and log lines on
 * every sync. `startClient()` subscribes it synchronously, so unsubscribing right after stops it.
 */
export function skipMatrixRtc(client: MatrixClient): void {
  const start = (client as unknown as { startMatrixRTC?: unknown }).startMatrixRTC;
  if (typeof start === "function") client.off(ClientEvent.Sync, start as () => void);
}

/** Idle keep-alive sockets to the homeserver live this long between requests. */
const KEEP_ALIVE_MS = 30_000;

/** A `fetch` over a connection pool the adapter owns, so `stop()` can close its sockets at once. */
export interface OwnedFetch {
  fetchFn: typeof globalThis.fetch;
  close(): Promise<void>;
}

/**
 * The global `fetch` pool is shared and keeps idle sockets (which hold the process open) for seconds
 * after the client stops; a per-account undici `Agent` is destroyed in `stop()` instead.
 */
export function ownedFetch(): OwnedFetch {
  const agent = new Agent({ keepAliveTimeout: KEEP_ALIVE_MS });
  const fetchFn = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { fetchFn, close: () => agent.destroy() };
}

export interface Credentials {
  userId: string;
  accessToken: string;
  deviceId?: string;
}

interface HttpOptions {
  baseUrl: string;
  fetchFn: typeof globalThis.fetch;
  log: Logger;
}

/**
 * The session to sync with: the configured access token, checked with `whoami` (a wrong token is one
 * clear error now instead of a sync loop failing forever), or a fresh `m.login.password` login.
 */
export async function resolveCredentials(
  config: MatrixAdapterConfig,
  opts: HttpOptions,
): Promise<Credentials> {
  const { user_id: userId, access_token: accessToken, password, device_id: deviceId } = config;
  if (!accessToken) {
    const creds = await passwordLogin(opts, userId, password!, deviceId);
    if (creds.userId !== userId) {
      opts.log.warn(
        { configured: userId, loggedIn: creds.userId },
        "password login returned another user id",
      );
    }
    return creds;
  }
  const probe = createClient({
    baseUrl: opts.baseUrl,
    fetchFn: opts.fetchFn,
    userId,
    accessToken,
    logger: sdkLogger(opts.log),
  });
  useUnrefTimeouts(probe);
  let who: { user_id: string; device_id?: string };
  try {
    who = await probe.whoami();
  } catch (err) {
    throw toPlatformError(err, `whoami for ${userId}`);
  }
  if (who.user_id !== userId) {
    throw new AuthError(
      PLATFORM,
      `matrix access_token belongs to ${who.user_id}, not user_id ${userId}: fix one of them`,
    );
  }
  const device = deviceId ?? who.device_id;
  return { userId, accessToken, ...(device ? { deviceId: device } : {}) };
}

/** Log in with `m.login.password`, returning the session's token and device. */
async function passwordLogin(
  opts: HttpOptions,
  userId: string,
  password: string,
  deviceId: string | undefined,
): Promise<Credentials> {
  const client = createClient({ baseUrl: opts.baseUrl, fetchFn: opts.fetchFn, logger: sdkLogger(opts.log) });
  useUnrefTimeouts(client);
  try {
    const res = await client.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: userId },
      password,
      ...(deviceId ? { device_id: deviceId } : {}),
      initial_device_display_name: "Switchboard",
    });
    return { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id };
  } catch (err) {
    const mapped = toPlatformError(err, `password login as ${userId}`);
    if (!(mapped instanceof AuthError)) throw mapped;
    throw new AuthError(
      PLATFORM,
      `matrix password login as ${userId} was refused: check user_id and password`,
      {
        status: mapped.status ?? 403,
        cause: err,
      },
    );
  }
}
