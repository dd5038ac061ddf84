import type { Logger } from "../logger.ts";
import type { ChatType, InboundMessage } from "../platform.ts";
import type { SessionRecord, SessionStore } from "../sessions/store-types.ts";

/** How far back recovery looks for messages a replica stored but did not answer before it died. */
export const RECOVER_WINDOW_MS = 15 * 60_000;
/** The most recent sessions one recovery pass looks at. */
const RECOVER_SESSIONS = 500;
/** The transcript tail read to find what is unanswered. */
const TAIL = 20;

/** The shared-state key holding the id of the last message of a session a platform turn answered. */
export const answeredKey = (sessionId: string) => `session:${sessionId}:answered`;

/** Record that a platform turn answered the messages of `sessionId` up to `lastId` (replicas only). */
export async function markAnswered(store: SessionStore, sessionId: string, lastId: number): Promise<void> {
  await store.adapterState?.set(answeredKey(sessionId), String(lastId));
}

export interface RecoverDeps {
  store: SessionStore;
  logger: Logger;
  /**
   * Queue the stored, unanswered messages `ids` of `session` as one turn (as if `inbound` had just arrived);
   * `claimed`: they are in the session's inbox (run only while still there).
   */
  enqueue: (
    inbound: InboundMessage,
    session: SessionRecord,
    ids: number[],
    claimed?: boolean,
  ) => Promise<void>;
  now?: () => number;
}

export interface RecoverScope {
  /** Which sessions' platform accounts this replica may answer (a held account, or a webhook one). */
  accounts: (platform: string, account: string) => boolean;
  /** Only tails whose last message is at least this old (ms): younger ones are still being worked on. */
  minAgeMs?: number;
  /** How far back to look (default `RECOVER_WINDOW_MS`). */
  windowMs?: number;
  /** Sessions already looked at, by id, with the `updatedAt` they had then: skipped until they change. */
  checked?: Map<string, number>;
}

/**
 * Messages a replica stored (and confirmed to the platform) but never answered, because it died (`kill -9`)
 * with them queued or running: sessions whose transcript ends with user messages. The replica that takes a
 * platform account over runs them as turns before it starts receiving, so nothing accepted is lost; only the
 * account's holder answers its sessions, so nothing is answered twice. Returns how many sessions were queued.
 */
export async function recoverUnanswered(deps: RecoverDeps, scope: RecoverScope): Promise<number> {
  const now = (deps.now ?? Date.now)();
  const sessions = (await deps.store.list({ limit: RECOVER_SESSIONS })).filter(
    (s) =>
      s.platform !== null &&
      s.account !== null &&
      scope.accounts(s.platform, s.account) &&
      s.chatId !== null &&
      s.updatedAt >= now - (scope.windowMs ?? RECOVER_WINDOW_MS) &&
      s.updatedAt <= now - (scope.minAgeMs ?? 0) &&
      s.endedAt === null &&
      scope.checked?.get(s.id) !== s.updatedAt,
  );
  let queued = 0;
  for (const session of sessions) {
    scope.checked?.set(session.id, session.updatedAt);
    const tail = await deps.store.history(session.id, TAIL);
    const mark = await deps.store.adapterState?.get(answeredKey(session.id));
    let unanswered: typeof tail;
    if (mark !== undefined) {
      // Turns record the last message they answered once the reply is sent (a new session starts at 0): what
      // came in while a turn ran, or a reply stored but never sent, is not taken for an answer.
      unanswered = tail.filter((m) => m.role === "user" && m.id > Number(mark));
    } else {
      const lastReply = tail.findLastIndex((m) => m.role !== "user");
      unanswered = tail.slice(lastReply + 1);
      // A whole window of user messages and nothing else is a transcript cut by the limit: leave it.
      if (lastReply < 0 && tail.length === TAIL) continue;
    }
    if (unanswered.length === 0) continue;
    const inbound: InboundMessage = {
      platform: session.platform!,
      account: session.account!,
      // No platform message id is stored: the reply is not threaded to a message.
      messageId: "",
      chat: { id: session.chatId!, type: (session.chatType ?? "dm") as ChatType },
      ...(session.threadId ? { threadId: session.threadId } : {}),
      user: { id: session.userId ?? "" },
      text: unanswered.map((m) => m.content).join("\n\n"),
    };
    await deps.enqueue(
      inbound,
      session,
      unanswered.map((m) => m.id),
    );
    queued++;
  }
  if (scope.checked && scope.checked.size > RECOVER_SESSIONS * 4) scope.checked.clear();
  if (queued > 0)
    deps.logger.info(
      { sessions: queued },
      `answering ${queued} session(s) whose messages a replica stored but did not answer`,
    );
  return queued;
}

export interface StalledScope {
  /** Claims at least this old (ms) count as left behind. */
  stalledMs: number;
  /** Whether a turn of the session runs somewhere (its lease is held) or is queued here: then it is not left. */
  busy: (session: SessionRecord) => Promise<boolean>;
}

/**
 * Session inboxes a replica left behind (replicas): messages claimed into a session (a webhook accepted with
 * `200`, a connection message confirmed) by a replica that died before its turn ran, while no further message of
 * the chat has come to make another replica run the session. Queued here; the turn takes the session's lease
 * and runs its inbox, so if another replica got there first nothing runs twice. Messages older than the
 * recovery window are dropped from the inbox instead (too late to answer). Returns how many sessions were queued.
 */
export async function recoverStalled(deps: RecoverDeps, scope: StalledScope): Promise<number> {
  const now = (deps.now ?? Date.now)();
  const ids = await deps.store.inbound.stalled(now - scope.stalledMs, RECOVER_SESSIONS);
  let queued = 0;
  for (const id of ids) {
    const inbox = await deps.store.inbound.unanswered(id);
    if (inbox.length === 0) continue;
    const session = await deps.store.get(id);
    const open = session && session.endedAt === null && session.chatId !== null;
    const late = open ? inbox.filter((m) => m.seenAt < now - RECOVER_WINDOW_MS) : inbox;
    if (late.length > 0) {
      // Nobody will answer these any more (the session was reset, or it is too late): out of the inbox.
      await deps.store.inbound.answer(
        id,
        late.map((m) => m.storedId),
      );
      deps.logger.warn(
        { session: id, messages: late.length },
        "dropped messages a replica stored but did not answer: their session ended or they are too old",
      );
    }
    const fresh = inbox.filter((m) => !late.includes(m));
    if (!open || fresh.length === 0 || (await scope.busy(session))) continue;
    const last = fresh.at(-1)!;
    const inbound: InboundMessage = {
      platform: last.key.platform,
      account: last.key.account,
      messageId: last.key.messageId,
      chat: { id: session.chatId!, type: (session.chatType ?? "dm") as ChatType },
      ...(session.threadId ? { threadId: session.threadId } : {}),
      user: { id: session.userId ?? "" },
      text: fresh.map((m) => m.content).join("\n\n"),
    };
    await deps.enqueue(
      inbound,
      session,
      fresh.map((m) => m.storedId),
      true,
    );
    queued++;
  }
  if (queued > 0)
    deps.logger.info(
      { sessions: queued },
      `answering ${queued} session(s) whose messages a replica stored but did not answer`,
    );
  return queued;
}
