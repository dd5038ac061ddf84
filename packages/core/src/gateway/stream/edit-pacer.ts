import { sleep } from "../retry.ts";

interface ChatPace {
  /** The last operation on the chat, settled or not: the next one waits for it. */
  tail: Promise<void>;
  /** When the last operation on the chat finished (epoch ms). */
  lastAt: number;
}

/** Entries idle longer than this are forgotten (their interval has long passed). */
const FORGET_AFTER_MS = 60_000;

/**
 * Paces the sends and edits of streamed replies per chat: one operation at a time, each starting no
 * sooner than `intervalMs` after the previous one on the same chat finished, so two replies streaming
 * into one group chat share the platform's per-chat edit rate instead of doubling it.
 */
export class EditPacer {
  readonly #chats = new Map<string, ChatPace>();

  /** Run `op` on `chat` once its turn comes and the interval since the chat's last operation has passed. */
  run<T>(chat: string, intervalMs: number, op: () => Promise<T>): Promise<T> {
    this.#sweep();
    let pace = this.#chats.get(chat);
    if (!pace) {
      pace = { tail: Promise.resolve(), lastAt: 0 };
      this.#chats.set(chat, pace);
    }
    const p = pace;
    const result = p.tail.then(async () => {
      const wait = p.lastAt + intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        return await op();
      } finally {
        p.lastAt = Date.now();
      }
    });
    p.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Chats with a pace kept (tests, benchmarks). */
  get size(): number {
    return this.#chats.size;
  }

  #sweep(): void {
    if (this.#chats.size < 1024) return;
    const now = Date.now();
    for (const [k, v] of this.#chats) if (now - v.lastAt > FORGET_AFTER_MS) this.#chats.delete(k);
  }
}
