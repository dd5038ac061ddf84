import type { Readable } from "node:stream";

/**
 * The parts of a fetch `Response` both hand-rolled fetches (`createHttpFetch`, `createUndiciFetch`) build
 * the same way from a Node response body.
 */

// Hono's Node server swaps `globalThis.Response` for a lazy stand-in that builds the real one on first use
// of `body`: an answer built with the stand-in would pay for both. The real class, as fetch returns it.
const NATIVE_RESPONSE: typeof Response = globalThis.Response;

/** A response as fetch returns it: the native class, and naming the URL it answers (a constructed one says ""). */
export function nativeResponse(
  body: ReadableStream<Uint8Array> | null,
  init: ResponseInit,
  url: URL,
): Response {
  const response = new NATIVE_RESPONSE(body, init);
  Object.defineProperty(response, "url", { value: url.href });
  return response;
}

export interface BodyHooks {
  /** Whether the request has finished (failed, cancelled or ended): chunks after that are dropped. */
  finished: () => boolean;
  /** The body ended: the request is done (the stream closes right after). */
  end: () => void;
  /** The body failed: fail the request with this error. */
  fail: (error: unknown) => void;
  /** The reader cancelled the body. */
  cancel: () => void;
}

/**
 * `source` as a web stream, with backpressure (a full queue pauses `source`, a read resumes it); its error
 * fails the request with fetch's "terminated". The controller is the stream's, to error it on a failure.
 */
export function bodyStream(
  source: Readable,
  hooks: BodyHooks,
): { stream: ReadableStream<Uint8Array>; controller: ReadableStreamDefaultController<Uint8Array> } {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      source.resume();
    },
    cancel() {
      hooks.cancel();
    },
  });
  source.on("data", (chunk: Buffer) => {
    if (hooks.finished() || !controller) return;
    controller.enqueue(chunk);
    if ((controller.desiredSize ?? 0) <= 0) source.pause();
  });
  source.on("end", () => {
    if (hooks.finished()) return;
    hooks.end();
    controller?.close();
  });
  source.on("error", (err) => hooks.fail(new TypeError("terminated", { cause: err })));
  // `start` runs inside the constructor, so the controller is set by now.
  return { stream, controller: controller! };
}

/** Fails with a `TimeoutError` once `timeoutMs` passes without response headers; none without a limit. */
export function responseTimer(
  timeoutMs: number | undefined,
  fail: (error: unknown) => void,
): NodeJS.Timeout | undefined {
  if (!timeoutMs) return undefined;
  return setTimeout(
    () => fail(new DOMException(`no response within ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs,
  );
}
