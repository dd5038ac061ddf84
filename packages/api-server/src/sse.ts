const ENCODER = new TextEncoder();
/** Proxies drop idle connections; a comment line keeps a long tool call's stream alive. */
const KEEPALIVE_MS = 15_000;

export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/** Writes one SSE frame's text; returns false once the client has gone. */
export type SseWrite = (frame: string) => boolean;

/** `data: <json>\n\n`, optionally with `event:` and `id:` lines. */
export function sseFrame(data: string, event?: string, id?: string | number): string {
  let out = "";
  if (id !== undefined) out += `id: ${id}\n`;
  if (event) out += `event: ${event}\n`;
  return `${out}data: ${data}\n\n`;
}

/**
 * A text/event-stream body fed by `produce`. When the client disconnects the stream is cancelled and
 * `onCancel` runs (the caller aborts the agent turn), so no model call outlives its listener.
 */
export function sseStream(
  produce: (write: SseWrite) => Promise<void>,
  options: { onCancel?: () => void; onError?: (error: unknown) => void } = {},
): ReadableStream<Uint8Array> {
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    closed = true;
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const write: SseWrite = (frame) => {
        if (closed) return false;
        try {
          controller.enqueue(ENCODER.encode(frame));
          return true;
        } catch {
          stop();
          return false;
        }
      };
      timer = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
      timer.unref?.();
      produce(write)
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          if (closed) return;
          stop();
          try {
            controller.close();
          } catch {
            // Already errored or cancelled.
          }
        });
    },
    cancel() {
      if (closed) return;
      stop();
      options.onCancel?.();
    },
  });
}
