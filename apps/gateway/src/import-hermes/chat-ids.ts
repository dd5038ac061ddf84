import type { ChatType } from "@switchboard/core";

/** A chat as Switchboard's adapter of its platform names it. */
export interface SwitchboardChat {
  chatId: string;
  threadId?: string;
  /** The kind the Hermes id spelled out (`group:` / `direct:`), when it did. */
  chatType?: ChatType;
}

/**
 * Platforms whose Hermes chat ids carry their kind as a prefix: Yuanbao's are `group:<group_code>` and
 * `direct:<account>` (and later Hermes gives every group the thread `main`), while Switchboard's adapter names
 * a group by its group code and a private chat by the sender's account, and has no threads.
 */
const PREFIXED: Record<string, { kinds: Record<string, ChatType>; threads: boolean }> = {
  yuanbao: { kinds: { group: "group", direct: "dm" }, threads: false },
};

/** Whether Switchboard's adapter of `platform` has threads (a route on a thread of it could match). */
export function hasThreads(platform: string): boolean {
  return PREFIXED[platform]?.threads ?? true;
}

/**
 * A Hermes chat id (and thread) as Switchboard's adapter of that platform names the chat, so imported
 * sessions, routes and cron targets address the chats the adapter reports. Other platforms keep their ids.
 */
export function switchboardChat(platform: string, chatId: string, threadId?: string): SwitchboardChat {
  const map = PREFIXED[platform];
  if (!map) return { chatId, ...(threadId ? { threadId } : {}) };
  const colon = chatId.indexOf(":");
  const kind = colon > 0 ? map.kinds[chatId.slice(0, colon)] : undefined;
  const id = kind ? chatId.slice(colon + 1) : chatId;
  return {
    chatId: id,
    ...(threadId && map.threads ? { threadId } : {}),
    ...(kind ? { chatType: kind } : {}),
  };
}

/**
 * Split the `<chat>[:<more>…]` segments of a Hermes session key or delivery target into the Hermes chat id
 * and what follows it, where a prefixed chat id (`group:123`) spans two segments.
 */
export function splitHermesChat(
  platform: string,
  segments: readonly string[],
): { chatId: string | undefined; rest: string[] } {
  const map = PREFIXED[platform];
  const span = map && segments.length > 1 && map.kinds[segments[0]!] ? 2 : 1;
  return { chatId: segments.slice(0, span).join(":") || undefined, rest: segments.slice(span) };
}
