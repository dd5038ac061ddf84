import type { InboundMessage } from "../platform.ts";
import type { SessionRecord } from "../sessions/store-types.ts";
import { publish } from "../telemetry/facts.ts";

/** A platform message stored on arrival and waiting for its session's next turn. */
export interface PendingMessage {
  inbound: InboundMessage;
  session: SessionRecord;
  /** The stored ids of this message, left out of the turn's history (it is the turn's input). */
  ids: number[];
  /** How its routing went, for the turn's trace. */
  routed: { startedAt: number; durationMs: number; by: string };
  /** Replicas: claimed into its session's inbox when stored (see inbox.ts); run only while still in it. */
  claimed?: boolean;
}

/** What happens to a message that arrives while its session's turn runs (`session.busy`). */
export type BusyPolicy = "queue" | "interrupt" | "steer";

/** The abort reason of a turn interrupted by a newer message (`session.busy: interrupt`): its input runs again. */
export class TurnInterrupted extends Error {
  override readonly name = "TurnInterrupted";
  constructor() {
    super("interrupted by a newer message");
  }
}

export interface SessionLane {
  running: boolean;
  pending: PendingMessage[];
  controller: AbortController | undefined;
  /** When the last message was queued (epoch ms): the debounce waits for a quiet spell after it. */
  lastAt: number;
  /** Serializes programmatic turns (API) on the same session. */
  tail: Promise<void>;
  /** Programmatic turns chained on `tail` and not yet finished. */
  turns: number;
}

/** A programmatic turn's place on its lane (see `Lanes.join`). */
export interface LanePlace {
  /** Resolves once every turn chained before this one has left. */
  previous: Promise<void>;
  /** Nothing was chained before it when it joined. */
  first: boolean;
  /** Give the place up: the next turn may start; the lane goes once nothing is chained on it. */
  leave(): void;
}

/**
 * One turn at a time per session. Platform messages queue on their session's lane and are drained in
 * batches (what arrived while a turn ran forms the next turn); programmatic turns chain on the lane's tail
 * in the order they joined. The lanes also count the work in flight, so a drain can wait until idle.
 */
export class Lanes {
  readonly #lanes = new Map<string, SessionLane>();
  #active = 0;
  #idleWaiters: Array<() => void> = [];

  /** The lane of a session key, when work is queued or running on it. */
  get(key: string): SessionLane | undefined {
    return this.#lanes.get(key);
  }

  /** The lane of a session key, created when there is none. */
  lane(key: string): SessionLane {
    let l = this.#lanes.get(key);
    if (!l) {
      l = {
        running: false,
        pending: [],
        controller: undefined,
        lastAt: 0,
        tail: Promise.resolve(),
        turns: 0,
      };
      this.#lanes.set(key, l);
    }
    return l;
  }

  /** Whether a turn runs (or is being drained) on the session now. */
  running(key: string): boolean {
    return !!this.#lanes.get(key)?.running;
  }

  /** Count one piece of work in flight (a command, a drain, a programmatic turn). */
  busy(): void {
    this.#active++;
  }

  done(): void {
    this.#active--;
    if (this.#active === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Resolves when no turn is queued or running. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Forget whoever waits for idle (the end of a shutdown). */
  dropIdleWaiters(): void {
    this.#idleWaiters = [];
  }

  /**
   * Queue a stored platform message on its session's lane. With `interrupt`, a turn running on the lane is
   * aborted (`TurnInterrupted`) and its input runs again together with this message; with `queue` and
   * `steer` the message waits (a steering turn takes it at its next model step, see `takeSteered`).
   */
  enqueue(key: string, message: PendingMessage, busy: BusyPolicy = "queue"): void {
    const l = this.lane(key);
    l.pending.push(message);
    l.lastAt = Date.now();
    publish("queue", { delta: 1 });
    if (busy === "interrupt" && l.controller && !l.controller.signal.aborted)
      l.controller.abort(new TurnInterrupted());
  }

  /** Give messages back to the front of the lane (an interrupted turn's input, to run with what came after). */
  requeue(lane: SessionLane, messages: PendingMessage[]): void {
    lane.pending.unshift(...messages);
    publish("queue", { delta: messages.length });
  }

  /** What queued on the lane while its turn runs, handed to that turn (`session.busy: steer`). */
  takeSteered(lane: SessionLane): PendingMessage[] {
    const taken = lane.pending.splice(0);
    if (taken.length > 0) publish("queue", { delta: -taken.length });
    return taken;
  }

  /** Abort the session's running turn and drop what is queued behind it; false when none runs. */
  stop(key: string, reason: Error): boolean {
    const l = this.#lanes.get(key);
    if (!l?.controller) return false;
    l.pending.length = 0;
    l.controller.abort(reason);
    return true;
  }

  /**
   * Drain a session's queue: one batch at a time, each batch everything that arrived since the last one
   * started. A second call while the lane is draining returns at once (the running drain picks it up).
   */
  async drain(
    key: string,
    runBatch: (batch: PendingMessage[], lane: SessionLane) => Promise<void>,
    /** Wait until no message has arrived for this long before the first batch (`session.debounce_s`); 0 = none. */
    debounceMs = 0,
  ): Promise<void> {
    const l = this.lane(key);
    if (l.running) return;
    l.running = true;
    this.busy();
    try {
      if (debounceMs > 0) await settle(l, debounceMs);
      while (l.pending.length > 0) {
        const batch = l.pending.splice(0);
        publish("queue", { delta: -batch.length });
        await runBatch(batch, l);
      }
    } finally {
      l.running = false;
      if (l.pending.length === 0 && this.#lanes.get(key) === l) this.#lanes.delete(key);
      this.done();
    }
  }

  /** Take a programmatic turn's place on the session's lane; call before anything awaits, so turns keep their order. */
  join(key: string): LanePlace {
    const l = this.lane(key);
    const previous = l.tail;
    const first = l.turns === 0;
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    l.tail = mine;
    l.turns++;
    this.busy();
    const leave = () => {
      l.turns--;
      release();
      // Keep the lane only while work is chained on it.
      if (this.#lanes.get(key) === l && !l.running && l.pending.length === 0 && l.tail === mine)
        this.#lanes.delete(key);
      this.done();
    };
    return { previous, first, leave };
  }
}

/** Wait for a quiet spell of `ms` after the lane's last message; a steady stream of messages waits at most 5 × `ms`. */
async function settle(l: SessionLane, ms: number): Promise<void> {
  const until = Date.now() + ms * 5;
  for (;;) {
    const wait = Math.min(l.lastAt + ms, until) - Date.now();
    if (wait <= 0) return;
    await new Promise((r) => setTimeout(r, wait));
  }
}
