import type { Readable } from "node:stream";
import type { Agent, Dispatcher } from "undici";
import { bodyStream, nativeResponse, responseTimer } from "./fetch-response.ts";
import {
  decoded,
  type HttpFetchOptions,
  handled,
  NULL_BODY_STATUS,
  requestHeaders,
  withResponseTimeout,
} from "./http-fetch.ts";

/**
 * The same part of `fetch` as `createHttpFetch` (POST with a text body, status and headers, a streamed body,
 * abort), sent with undici's `request` API over its own keep-alive connection pools instead of node:http.
 * undici's `request` skips the WHATWG machinery that makes its `fetch` expensive; everything outside that
 * part goes to the platform's `fetch`, exactly as with `createHttpFetch`.
 */

/**
 * One dispatcher for every agent: connection pools are per origin inside it, so agents on the same endpoint
 * share sockets. Idle sockets close after 4 s (undici's fetch default), before a load balancer drops them.
 */
let shared: Promise<Agent> | undefined;
// undici loads on the first request through it (3 MB resident a gateway on the default transport never needs).
const dispatcher = () => {
  shared ??= import("undici").then(
    (u) => new u.Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 }),
  );
  return shared;
};

export function createUndiciFetch(options: HttpFetchOptions = {}): typeof fetch {
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

function responseHeaders(raw: Dispatcher.ResponseData["headers"]): Headers {
  const headers = new Headers();
  for (const k in raw) {
    const v = raw[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) headers.append(k, one);
    else headers.append(k, v);
  }
  return headers;
}

function send(
  url: URL,
  init: RequestInit | undefined,
  timeoutMs: number | undefined,
  platform: typeof fetch,
): Promise<Response> {
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const method = (init?.method ?? "GET").toUpperCase() as Dispatcher.HttpMethod;
  const body = (init?.body ?? undefined) as string | Uint8Array | undefined;

  return new Promise<Response>((resolve, reject) => {
    /** Cancels the undici request (and its socket) whatever state it is in. */
    const cancel = new AbortController();
    let source: Readable | undefined;
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    let delivered = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;

    const cleanup = () => {
      finished = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown) => {
      if (finished) return;
      cleanup();
      cancel.abort(error);
      source?.destroy();
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
    signal?.addEventListener("abort", onAbort, { once: true });
    timer = responseTimer(timeoutMs, fail);

    dispatcher()
      .then((d) =>
        d.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method,
          headers: requestHeaders(init, body),
          ...(body !== undefined ? { body } : {}),
          signal: cancel.signal,
        }),
      )
      .then(
        (res) => {
          const incoming = res.body;
          if (finished) {
            incoming.destroy();
            return;
          }
          if (timer) clearTimeout(timer);
          timer = undefined;
          const status = res.statusCode;
          if (status >= 300 && status < 400 && res.headers.location) {
            // Redirects are rare for model APIs; the platform fetch follows them with fetch's exact rules.
            cleanup();
            incoming.resume();
            resolve(platform(url, init));
            return;
          }
          try {
            const headers = responseHeaders(res.headers);
            if (method === "HEAD" || NULL_BODY_STATUS.has(status)) {
              cleanup();
              incoming.resume();
              resolve(nativeResponse(null, { status, headers }, url));
              return;
            }
            const encoding = res.headers["content-encoding"];
            const body = decoded(incoming, Array.isArray(encoding) ? encoding.join(",") : encoding);
            source = body;
            const piped = bodyStream(body, {
              finished: () => finished,
              end: cleanup,
              fail,
              cancel: () => {
                cleanup();
                cancel.abort();
                incoming.destroy();
              },
            });
            controller = piped.controller;
            const response = nativeResponse(piped.stream, { status, headers }, url);
            delivered = true;
            resolve(response);
          } catch (err) {
            fail(new TypeError("fetch failed", { cause: err }));
          }
        },
        (err: unknown) => {
          if (finished) return;
          // undici's errors (ECONNREFUSED, a reset socket) surface as fetch's, so SDKs classify and retry them alike.
          fail(new TypeError("fetch failed", { cause: err }));
        },
      );
  });
}
