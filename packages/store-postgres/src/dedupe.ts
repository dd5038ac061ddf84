import type { Pool } from "./pool.ts";

/** One inbound message, as its platform identifies it. */
export interface InboundKey {
  platform: string;
  account: string;
  chatId: string;
  messageId: string;
}

/** Inbound messages already seen, shared by every replica (table `inbound_seen`). */
export interface InboundDedupe {
  /** Record `key` as seen. True the first time, on whichever replica; false for a repeat (a webhook retry). */
  claim(key: InboundKey, now?: number): Promise<boolean>;
  /** Forget what was seen before `before` (epoch ms). Resolves with how many were dropped. */
  prune(before: number): Promise<number>;
}

export function inboundDedupe(pool: Pool, clock: () => number): InboundDedupe {
  return {
    async claim(key, now = clock()) {
      const r = await pool.query({
        name: "sb_inbound_claim",
        text: `INSERT INTO inbound_seen (platform, account, chat_id, message_id, seen_at) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT DO NOTHING`,
        values: [key.platform, key.account, key.chatId, key.messageId, now],
      });
      return r.rowCount === 1;
    },
    async prune(before) {
      return (await pool.query("DELETE FROM inbound_seen WHERE seen_at < $1", [before])).rowCount ?? 0;
    },
  };
}
