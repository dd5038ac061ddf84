import type { Database } from "better-sqlite3";
import { type InboundDedupe, type InboundKey, type InboxRow, unansweredOf } from "../store-types.ts";
import type { WriteBatcher } from "./write-batch.ts";

/**
 * Inbound messages already seen (`inbound_seen`, primary key platform, account, chat, message id), and each
 * session's inbox: the claims made into it (`claimInto`, in the commit that stores the message) not answered yet.
 */
export function inboundDedupe(db: Database, writes: WriteBatcher, clock: () => number): InboundDedupe {
  const claim = db.prepare(
    "INSERT OR IGNORE INTO inbound_seen (platform, account, chat_id, message_id, seen_at) VALUES (?, ?, ?, ?, ?)",
  );
  const prune = db.prepare("DELETE FROM inbound_seen WHERE seen_at < ?");
  const unanswered = db.prepare(
    `SELECT i.platform, i.account, i.chat_id, i.message_id, i.session_id, i.stored_id, i.seen_at, m.content
     FROM inbound_seen i JOIN messages m ON m.id = i.stored_id
     WHERE i.session_id = ? AND i.answered_at IS NULL ORDER BY i.stored_id`,
  );
  const answer = db.prepare(
    "UPDATE inbound_seen SET answered_at = ? WHERE session_id = ? AND stored_id = ? AND answered_at IS NULL",
  );
  const stalled = db.prepare(
    `SELECT DISTINCT session_id FROM inbound_seen
     WHERE session_id IS NOT NULL AND answered_at IS NULL AND seen_at < ? LIMIT ?`,
  );
  return {
    claim: (key, now = clock()) =>
      writes.run(() => claim.run(key.platform, key.account, key.chatId, key.messageId, now).changes === 1),
    prune: (before) => writes.run(() => prune.run(before).changes),
    unanswered: (sessionId) => writes.read(() => (unanswered.all(sessionId) as InboxRow[]).map(unansweredOf)),
    answer: (sessionId, storedIds, now = clock()) =>
      storedIds.length === 0
        ? Promise.resolve(0)
        : writes.run(() => {
            let n = 0;
            for (const id of storedIds) n += answer.run(now, sessionId, id).changes;
            return n;
          }),
    stalled: (before, limit = 100) =>
      writes.read(() =>
        (stalled.all(before, limit) as Array<{ session_id: string }>).map((r) => r.session_id),
      ),
  };
}

/** Claim `key` into a session's inbox inside the caller's write (`getOrCreate`); false when it was seen before. */
export function claimInto(
  db: Database,
): (key: InboundKey, sessionId: string, storedId: number | null, now: number) => boolean {
  // A claim `inbound.claim` made without a session (a chat command that went on to the agent) is taken over.
  const insert = db.prepare(
    `INSERT INTO inbound_seen (platform, account, chat_id, message_id, seen_at, session_id, stored_id)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (platform, account, chat_id, message_id) DO UPDATE
       SET session_id = excluded.session_id, stored_id = excluded.stored_id WHERE inbound_seen.session_id IS NULL`,
  );
  return (key, sessionId, storedId, now) =>
    insert.run(key.platform, key.account, key.chatId, key.messageId, now, sessionId, storedId).changes === 1;
}
