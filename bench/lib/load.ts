import type { FakeInbound, FakePlatform } from "@switchboard/testing";

/** A DM chat and the person in it, in one platform's id shape. */
export interface BenchChat {
  chatId: string;
  userId: string;
}

export interface LoadResult {
  /** From the first injection until the reply to the last message was captured. */
  ms: number;
  /** Replies that quoted a message of the run: one per message, or the gateway folded some together. */
  replies: number;
}

/** `r<run>m<index>`: plain letters and digits, so every platform's formatting passes it through unchanged. */
const TAG_RE = /\br(\d+)m(\d+)\b/g;

/** `n` DMs for load run `run`, dealt round-robin over `chats` chats. */
export function loadMessages(
  run: number,
  n: number,
  chats: number,
  chat: (k: number) => BenchChat,
): FakeInbound[] {
  return Array.from({ length: n }, (_, i) => {
    const c = chat(i % chats);
    return { chatType: "dm", chatId: c.chatId, userId: c.userId, text: `load r${run}m${i}` };
  });
}

/**
 * Play `messages` (from `loadMessages(run, …)`) as one conversation per chat, all chats at once: each chat sends
 * its next message when the echo agent's reply to the previous one has arrived, as a person waits for an answer.
 * So every message is a turn of its own and gets a reply of its own (messages that reach a busy chat would be
 * folded into one turn), and as many injections are in flight as there are chats.
 */
export async function injectAndAwait(
  fake: FakePlatform,
  messages: FakeInbound[],
  run: number,
  options: { timeoutMs: number },
): Promise<LoadResult> {
  const n = messages.length;
  const answered = new Set<number>();
  const waiting = new Map<number, () => void>();
  let replies = 0;
  let doneAt = 0;
  const t0 = performance.now();
  // Every fake calls the predicate once per send (past sends first): one wait serves as the reply listener.
  const allAnswered = fake.waitForSent((m) => {
    if (doneAt) return true;
    let hit = false;
    for (const match of m.text.matchAll(TAG_RE)) {
      if (Number(match[1]) !== run) continue;
      const i = Number(match[2]);
      hit = true;
      answered.add(i);
      waiting.get(i)?.();
      waiting.delete(i);
    }
    if (hit) replies++;
    if (answered.size < n) return false;
    doneAt = performance.now();
    return true;
  }, options.timeoutMs);
  // When an injection fails first, the wait still settles later: keep that from becoming an unhandled rejection.
  allAnswered.catch(() => {});

  const replyTo = (i: number): Promise<void> =>
    answered.has(i) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(i, resolve));
  const conversations = new Map<string, number[]>();
  messages.forEach((m, i) => {
    const list = conversations.get(m.chatId) ?? [];
    list.push(i);
    conversations.set(m.chatId, list);
  });
  const converse = async (indices: number[]): Promise<void> => {
    for (const i of indices) {
      await fake.inject(messages[i]!);
      await replyTo(i);
    }
  };
  try {
    // A conversation stuck on a lost reply ends the run when `allAnswered` times out.
    await Promise.all([...[...conversations.values()].map(converse), allAnswered]);
  } catch (err) {
    const why = err instanceof Error ? err.message.slice(0, 300) : String(err);
    throw new Error(`run ${run}: ${answered.size}/${n} messages answered by ${replies} replies; ${why}`);
  }
  return { ms: doneAt - t0, replies };
}
