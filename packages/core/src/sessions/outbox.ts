import type { Address, OutboundMessage } from "../platform.ts";

/** A send another replica asked the account's holder to make (see `OutboxTable`). */
export interface OutboxItem {
  id: number;
  address: Address;
  text: string;
  message: Omit<OutboundMessage, "text">;
  /** Epoch ms. */
  createdAt: number;
}

/**
 * Sends forwarded to the replica holding an account's connection (table `outbox`), for platforms that send
 * only over the connection they receive on (Yuanbao): a standby's cron delivery is written here and the
 * holder makes it. An item is taken by one holder at a time; one taken longer ago than `staleMs` and not
 * `done` (its taker died) is taken again.
 */
export interface OutboxTable {
  put(item: Omit<OutboxItem, "id" | "createdAt">, now?: number): Promise<number>;
  /** Up to `limit` items of the account, oldest first, now taken by `holder`. */
  take(
    platform: string,
    account: string,
    holder: string,
    limit: number,
    staleMs: number,
    now?: number,
  ): Promise<OutboxItem[]>;
  /** The item was sent (or given up): it goes. */
  done(id: number): Promise<void>;
}

/** An `outbox` row as both backends read it (`address` and `message` JSON text; ids and times may be strings). */
export interface OutboxRow {
  id: number | string;
  address: string;
  text: string;
  message: string;
  createdAt: number | string;
}

export const outboxItemOf = (r: OutboxRow): OutboxItem => ({
  id: Number(r.id),
  address: JSON.parse(r.address) as OutboxItem["address"],
  text: r.text,
  message: JSON.parse(r.message) as OutboxItem["message"],
  createdAt: Number(r.createdAt),
});
