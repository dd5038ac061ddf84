import type { Logger } from "../logger.ts";
import type { ChatType, InboundMessage } from "../platform.ts";
import type { SessionRecord, SessionStore } from "../sessions/store-types.ts";

/** How far back recovery looks for messages a replica stored but did not answer before it died. */
export const RECOVER_WINDOW_MS = 15 * 60_000;
/** The most sessions one recovery pass looks at. */
const RECOVER_SESSIONS = 500;
/** How long the dedupe remembers a message (longer than any platform redelivers one), and how often it forgets. */
export const DEDUPE_KEEP_MS = 48 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

export interface RecoverDeps {
  store: SessionStore;
  logger: Logger;
  /**
   * Queue the stored, unanswered messages `ids` of `session` as one turn (as if `inbound` had just arrived);
   * they are in the session's inbox, and run only while still there.
   */
  enqueue: (inbound: InboundMessage, session: SessionRecord, ids: number[]) => Promise<void>;
  now?: () => number;
}

export interface StalledScope {
  /** Claims at least this old (ms) count as left behind (0: every unanswered one). */
  stalledMs: number;
  /** Only sessions of these platform accounts (a takeover: the account taken over). */
  accounts?: (platform: string, account: string) => boolean;
  /** Whether a turn of the session runs somewhere (its lease is held) or is queued here: then it is not left. */
  busy: (session: SessionRecord) => Promise<boolean>;
}

/**
 * Session inboxes a replica left behind (replicas): messages claimed into a session (a webhook accepted with
 * `200`, a long-polled update confirmed) by a replica that died (`kill -9`) with them queued or running, while
 * no further message of the chat has come to make another replica run the session. The replica taking a
 * platform account over queues its sessions' inboxes before it starts receiving; every replica looks for
 * inboxes nobody has run for `stalledMs` now and then (webhook accounts). The turn takes the session's lease
 * and runs what its inbox holds then, so nothing accepted is lost and, if another replica got there first,
 * nothing runs twice. Messages older than the recovery window are dropped from the inbox instead (too late to
 * answer). Returns how many sessions were queued.
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
    if (!open || fresh.length === 0) continue;
    if (scope.accounts && !scope.accounts(session.platform ?? "", session.account ?? "")) continue;
    if (await scope.busy(session)) continue;
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

/**
 * Every `everyMs`, run `recoverStalled` (one pass at a time), and once an hour forget dedupe rows older than
 * `DEDUPE_KEEP_MS`. Returns the function that stops it.
 */
export function sweepStalled(
  deps: RecoverDeps,
  scope: StalledScope & { everyMs: number; stopping: () => boolean },
): () => void {
  let running = false;
  let prunedAt = (deps.now ?? Date.now)();
  const timer = setInterval(() => {
    if (running || scope.stopping()) return;
    running = true;
    const now = (deps.now ?? Date.now)();
    const prune =
      now - prunedAt >= PRUNE_EVERY_MS
        ? deps.store.inbound.prune(now - DEDUPE_KEEP_MS).then(() => {
            prunedAt = now;
          })
        : Promise.resolve();
    prune
      .then(() => recoverStalled(deps, scope))
      .catch((err: unknown) => deps.logger.warn({ err }, "could not look for messages left unanswered"))
      .finally(() => {
        running = false;
      });
  }, scope.everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
