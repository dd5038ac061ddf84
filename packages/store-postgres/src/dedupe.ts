import type { InboundDedupe } from "@switchboard/core";
import type { Pool } from "./pool.ts";

/** Inbound messages already seen by any replica: the primary key of `inbound_seen` decides. */
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
