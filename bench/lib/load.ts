import type { FakeInbound, FakePlatform } from "@switchboard/testing";

/** A DM chat and the person in it, in one platform's id shape. */
export interface BenchChat {
  chatId: string;
  userId: string;
}

export interface LoadOptions {
  /** Injections in flight at once. */
  concurrency: number;
  /** Give up when not every message was answered by then. */
  timeoutMs: number;
}

export interface LoadResult {
  /** From the first injection until the reply answering the last message was captured. */
  ms: number;
  /** How many replies answered them (fewer than messages when a chat's turns folded several together). */
  replies: number;
}

/** `r<run>m<index>`: plain letters and digits, so every platform's formatting passes it through unchanged. */
const TAG_RE = /\br(\d+)m(\d+)\b/g;

/** `n` DMs for load run `run`, dealt round-robin over `chats` chats. */
export function loadMessages(run: number, n: number, chats: number, chat: (k: number) => BenchChat): FakeInbound[] {
  return Array.from({ length: n }, (_, i) => {
    const c = chat(i % chats);
    return { chatType: "dm", chatId: c.chatId, userId: c.userId, text: `load r${run}m${i}` };
  });
}

/**
 * Inject `messages` (from `loadMessages(run, …)`) with at most `concurrency` injections in flight, and resolve
 * once every one of them is answered. The gateway folds the messages that reach a chat while its turn runs into
 * the chat's next turn, so one reply can answer several: the tags quoted in the replies are counted, not replies.
 */
export async function injectAndAwait(
  fake: FakePlatform,
  messages: FakeInbound[],
  run: number,
  options: LoadOptions,
): Promise<LoadResult> {
  const n = messages.length;
  const answered = new Set<number>();
  let replies = 0;
  let doneAt = 0;
  const t0 = performance.now();
  // Every fake calls the predicate once per send (past sends first), so it doubles as the reply counter.
  const allAnswered = fake.waitForSent((m) => {
    if (doneAt) return true;
    let hit = false;
    for (const match of m.text.matchAll(TAG_RE)) {
      if (Number(match[1]) !== run) continue;
      answered.add(Number(match[2]));
      hit = true;
    }
    if (hit) replies++;
    if (answered.size < n) return false;
    doneAt = performance.now();
    return true;
  }, options.timeoutMs);
  // When an injection fails first, the wait still settles later: keep that from becoming an unhandled rejection.
  allAnswered.catch(() => {});

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fake.inject(messages[next++]!);
  };
  const injecting = Promise.all(Array.from({ length: Math.min(options.concurrency, n) }, worker));
  try {
    await Promise.all([injecting, allAnswered]);
  } catch (err) {
    const why = err instanceof Error ? err.message.slice(0, 300) : String(err);
    throw new Error(`run ${run}: ${answered.size}/${n} messages answered by ${replies} replies; ${why}`);
  }
  return { ms: doneAt - t0, replies };
}
