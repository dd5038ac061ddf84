import { type ChatTarget, Heartbeat, type YuanbaoTimings } from "./types.ts";

interface Beat {
  target: ChatTarget;
  timer: NodeJS.Timeout;
  lastRefresh: number;
}

/**
 * Yuanbao's "typing": RUNNING every 2 s while a reply is written, FINISH when it is delivered. Core refreshes
 * typing on its own cadence and has no "stop typing", so each refresh keeps the RUNNING beat alive and the
 * beat finishes itself once core stops refreshing (a failed turn) or when the reply's last part is sent.
 */
export class ReplyHeartbeats {
  readonly #beats = new Map<string, Beat>();
  readonly #send: (target: ChatTarget, state: number) => void;
  readonly #timings: Pick<YuanbaoTimings, "typingEveryMs" | "typingIdleMs">;

  constructor(
    send: (target: ChatTarget, state: number) => void,
    timings: Pick<YuanbaoTimings, "typingEveryMs" | "typingIdleMs">,
  ) {
    this.#send = send;
    this.#timings = timings;
  }

  /** Send RUNNING now and keep sending it until `finish()` or until refreshes stop. */
  running(target: ChatTarget): void {
    const key = keyOf(target);
    const beat = this.#beats.get(key);
    if (beat) {
      beat.lastRefresh = Date.now();
      return;
    }
    this.#send(target, Heartbeat.Running);
    const timer = setInterval(() => {
      const b = this.#beats.get(key);
      if (!b) return;
      if (Date.now() - b.lastRefresh > this.#timings.typingIdleMs) this.finish(target);
      else this.#send(target, Heartbeat.Running);
    }, this.#timings.typingEveryMs);
    timer.unref();
    this.#beats.set(key, { target, timer, lastRefresh: Date.now() });
  }

  /** Stop the RUNNING beat of `target` (if any) and send FINISH. */
  finish(target: ChatTarget): void {
    const key = keyOf(target);
    const beat = this.#beats.get(key);
    if (!beat) return;
    clearInterval(beat.timer);
    this.#beats.delete(key);
    this.#send(target, Heartbeat.Finish);
  }

  /** Drop every beat without a word (the connection is closing). */
  clear(): void {
    for (const b of this.#beats.values()) clearInterval(b.timer);
    this.#beats.clear();
  }
}

function keyOf(t: ChatTarget): string {
  return t.kind === "group" ? `g:${t.groupCode}` : `c:${t.userId}`;
}
