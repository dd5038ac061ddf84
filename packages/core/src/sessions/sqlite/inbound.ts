import type { Database } from "better-sqlite3";
import type { InboundDedupe } from "../store-types.ts";
import type { WriteBatcher } from "./write-batch.ts";

/** Inbound messages already seen (`inbound_seen`, primary key platform, account, chat, message id). */
export function inboundDedupe(db: Database, writes: WriteBatcher, clock: () => number): InboundDedupe {
  const claim = db.prepare(
    "INSERT OR IGNORE INTO inbound_seen (platform, account, chat_id, message_id, seen_at) VALUES (?, ?, ?, ?, ?)",
  );
  const prune = db.prepare("DELETE FROM inbound_seen WHERE seen_at < ?");
  return {
    claim: (key, now = clock()) =>
      writes.run(() => claim.run(key.platform, key.account, key.chatId, key.messageId, now).changes === 1),
    prune: (before) => writes.run(() => prune.run(before).changes),
  };
}
