import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { bodyStream, nativeResponse, responseTimer } from "./fetch-response.ts";

/**
 * The model SDKs need only a small part of `fetch`: a POST with a text body, the status and headers, a
 * streamed body, abort. Node's built-in fetch (undici) costs a few hundred microseconds of CPU per call on
 * top of that, which is most of what an agent adds to a fast model server; this does the same over
 * `node:http` with keep-alive agents. Anything outside that part goes to the platform's `fetch`.
 */

/** The platform fetch as it was when this module loaded: a replaced `globalThis.fetch` (a test interceptor) is honoured. */
const PLATFORM_FETCH = globalThis.fetch;
/**
 * Idle keep-alive sockets are unref'd by the agent, so they never hold the process open, and closed after
 * undici's 4 s keep-alive timeout, so a socket a load balancer dropped silently is never reused. (The
 * agent's timeout only ever closes idle sockets; a slow model answer in flight is not cut.)
 */
const KEEP_ALIVE = { keepAlive: true, timeout: 4_000 };
const HTTP_AGENT = new HttpAgent(KEEP_ALIVE);
const HTTPS_AGENT = new HttpsAgent(KEEP_ALIVE);
/** Where undici's `setGlobalDispatcher` keeps the dispatcher fetch uses (a proxy agent, a mock agent). */
const DISPATCHER_KEY = Symbol.for("undici.globalDispatcher.1");
const globalDispatcher = () => (globalThis as Record<symbol, unknown>)[DISPATCHER_KEY];
// Constructing `Headers` loads Node's fetch, which installs its default dispatcher: remember it, so a
// dispatcher someone installs instead (a proxy, a mock) sends every request through the platform fetch.
new Headers();
const DEFAULT_DISPATCHER = globalDispatcher();
const DEFAULT_DISPATCHER_IS_PLAIN =
  (DEFAULT_DISPATCHER as { constructor?: { name?: string } } | undefined)?.constructor?.name === "Agent";
/** `RequestInit` fields this fetch implements; a request using any other goes to the platform fetch. */
const HANDLED_INIT = new Set(["method", "headers", "body", "signal", "redirect"]);
export const NULL_BODY_STATUS = new Set([204, 205, 304]);
// undici's defaults, so a model server sees the same request whichever fetch sent it.
const DEFAULT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["accept", "*/*"],
  ["accept-language", "*"],
  ["sec-fetch-mode", "cors"],
  ["user-agent", "node"],
  ["accept-encoding", "gzip, deflate"],
];

export interface HttpFetchOptions {
  /** Fail with a `TimeoutError` when the response headers take longer than this. */
  responseTimeoutMs?: number;
  /** Where requests this fetch does not implement go; default `globalThis.fetch` at call time. */
  fallback?: typeof fetch;
}

/** Node reads its proxy switches once, at start; with them on, fetch goes through the configured proxy. */
const USES_ENV_PROXY = (() => {
  const flag = (v: string | undefined) => v !== undefined && v !== "" && v !== "0" && v !== "false";
  return (
    flag(process.env.NODE_USE_ENV_PROXY) ||
    process.execArgv.includes("--use-env-proxy") ||
    (process.env.NODE_OPTIONS ?? "").includes("--use-env-proxy")
  );
})();

/** The URL when this request is one the node:http path reproduces exactly, else `undefined`. */
export function handled(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): URL | undefined {
  if (USES_ENV_PROXY || globalThis.fetch !== PLATFORM_FETCH) return undefined;
  if (!DEFAULT_DISPATCHER_IS_PLAIN || globalDispatcher() !== DEFAULT_DISPATCHER) return undefined;
  if (typeof input !== "string" && !(input instanceof URL)) return undefined;
  const url = URL.parse(input instanceof URL ? input.href : input);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return undefined;
  // fetch refuses credentials in the URL; node:http would send them.
  if (url.username || url.password) return undefined;
  if (init) {
    for (const key of Object.keys(init)) {
      if (!HANDLED_INIT.has(key) && (init as Record<string, unknown>)[key] !== undefined) return undefined;
    }
    if (init.redirect !== undefined && init.redirect !== "follow") return undefined;
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array))
      return undefined;
  }
  return url;
}

/** The request headers as a plain object, lower-cased, with undici's defaults filled in. */
export function requestHeaders(init: RequestInit | undefined, body: string | Uint8Array | undefined) {
  const out: Record<string, string> = {};
  const given = init?.headers;
  if (given instanceof Headers || Array.isArray(given)) {
    for (const [k, v] of new Headers(given)) out[k] = v;
  } else if (given) {
    for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  }
  for (const [k, v] of DEFAULT_HEADERS) if (out[k] === undefined) out[k] = v;
  if (body !== undefined) {
    if (typeof body === "string" && out["content-type"] === undefined)
      out["content-type"] = "text/plain;charset=UTF-8";
    out["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  }
  return out;
}

/** The decoded body stream of a response, for the content codings fetch decodes. */
export function decoded(res: Readable, contentEncoding: string | undefined): Readable {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean)
    .reverse();
  let stream: Readable = res;
  // Sync flushes hand out what has arrived so far: an event stream must not wait for a full block.
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  for (const coding of codings) {
    const next =
      coding === "gzip" || coding === "x-gzip"
        ? zlib.createGunzip(flush)
        : coding === "deflate"
          ? zlib.createInflate(flush)
          : coding === "br"
            ? zlib.createBrotliDecompress({
                flush: zlib.constants.BROTLI_OPERATION_FLUSH,
                finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
              })
            : // zstd arrived in Node 22.15; older versions pass it through undecoded.
              coding === "zstd" && typeof zlib.createZstdDecompress === "function"
              ? zlib.createZstdDecompress()
              : undefined;
    // An unknown coding is passed through undecoded, as fetch does.
    if (!next) return stream;
    const from = stream;
    from.on("error", (err) => next.destroy(err));
    stream = from.pipe(next);
  }
  return stream;
}

/** A `fetch` over node:http(s) for the requests model SDKs make; every other request goes to the platform fetch. */
export function createHttpFetch(options: HttpFetchOptions = {}): typeof fetch {
  const timeoutMs = options.responseTimeoutMs;
  const platform: typeof fetch = (input, init) => {
    const inner = options.fallback ?? globalThis.fetch;
    return timeoutMs ? withResponseTimeout(inner, timeoutMs)(input, init) : inner(input, init);
  };
  return (input, init) => {
    const url = handled(input, init);
    return url ? send(url, init, timeoutMs, platform) : platform(input, init);
  };
}

function send(
  url: URL,
  init: RequestInit | undefined,
  timeoutMs: number | undefined,
  platform: typeof fetch,
): Promise<Response> {
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const https = url.protocol === "https:";
  const method = (init?.method ?? "GET").toUpperCase();
  const body = (init?.body ?? undefined) as string | Uint8Array | undefined;

  return new Promise<Response>((resolve, reject) => {
    let res: IncomingMessage | undefined;
    /** The decoded body when the response is content-encoded. */
    let decoder: Readable | undefined;
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    /** The response was handed out: failures now error its body instead of rejecting. */
    let delivered = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;

    const cleanup = () => {
      finished = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    /** Fail the request: before the response the promise rejects, after it the body stream errors. */
    const fail = (error: unknown) => {
      if (finished) return;
      cleanup();
      req.destroy();
      res?.destroy();
      decoder?.destroy();
      if (!delivered) reject(error);
      else {
        try {
          controller?.error(error);
        } catch {
          // The body was already cancelled.
        }
      }
    };
    const onAbort = () => fail(signal?.reason);

    const req = (https ? httpsRequest : httpRequest)(url, {
      method,
      headers: requestHeaders(init, body),
      agent: https ? HTTPS_AGENT : HTTP_AGENT,
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    timer = responseTimer(timeoutMs, fail);
    // Node's errors (ECONNREFUSED, a reset socket) surface as fetch's, so SDKs classify and retry them alike.
    req.on("error", (err) => fail(new TypeError(delivered ? "terminated" : "fetch failed", { cause: err })));
    req.on("response", (incoming) => {
      if (finished) {
        incoming.destroy();
        return;
      }
      res = incoming;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const status = incoming.statusCode ?? 0;
      if (status >= 300 && status < 400 && incoming.headers.location) {
        // Redirects are rare for model APIs; the platform fetch follows them with fetch's exact rules.
        cleanup();
        incoming.resume();
        resolve(platform(url, init));
        return;
      }
      let response: Response;
      try {
        const headers = new Headers();
        const raw = incoming.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
        const responseInit = { status, statusText: incoming.statusMessage ?? "", headers };
        if (method === "HEAD" || NULL_BODY_STATUS.has(status)) {
          cleanup();
          incoming.resume();
          resolve(nativeResponse(null, responseInit, url));
          return;
        }
        const source = decoded(incoming, incoming.headers["content-encoding"]);
        if (source !== incoming) decoder = source;
        const piped = bodyStream(source, {
          finished: () => finished,
          end: cleanup,
          fail,
          cancel: () => {
            cleanup();
            incoming.destroy();
          },
        });
        controller = piped.controller;
        incoming.on("close", () => {
          if (!incoming.complete)
            fail(new TypeError("terminated", { cause: new Error("other side closed") }));
        });
        response = nativeResponse(piped.stream, responseInit, url);
      } catch (err) {
        fail(new TypeError("fetch failed", { cause: err }));
        return;
      }
      delivered = true;
      resolve(response);
    });
    req.end(body);
  });
}

/** A fetch that fails with a `TimeoutError` when the response headers take longer than `ms`. */
export function withResponseTimeout(inner: typeof fetch, ms: number): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no response within ${ms} ms`, "TimeoutError")),
      ms,
    );
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await inner(input, { ...init, signal });
    } finally {
      clearTimeout(timer);
    }
  };
}
