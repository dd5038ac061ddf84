import type { Logger } from "../logger.ts";
import type { Address, OutboundMessage, PlatformAdapter } from "../platform.ts";
import type { OutboxTable } from "../sessions/outbox.ts";
import { accountLease, type Replica } from "./replicas.ts";

/** How often the holder of an account looks for sends forwarded to it. */
export const OUTBOX_POLL_MS = 250;
/** A forwarded send taken by a holder that has not sent it this long after is taken again (the taker died). */
const STALE_MS = 30_000;
/** A forwarded send older than this is dropped with a warning rather than sent late. */
const MAX_AGE_MS = 15 * 60_000;
const BATCH = 20;

export interface OutboxDeps {
  outbox: OutboxTable;
  replica: Replica;
  adapters: () => PlatformAdapter[];
  /** The send itself (split, retried, through the breaker), as for any reply. */
  send: (address: Address, text: string, message: Omit<OutboundMessage, "text">) => Promise<void>;
  logger: Logger;
  stopping: () => boolean;
  pollMs?: number | undefined;
}

/**
 * Replicas, for accounts that send only over the connection they receive on (`sendsOverConnection`): a
 * replica standing by for such an account writes its sends to the store's outbox (`forwardSend`), and the
 * holder sends them (`drainOutbox`), oldest first. Returns the stop function.
 */
export function forwardSend(deps: Pick<OutboxDeps, "outbox" | "replica">) {
  return async (address: Address, text: string, message: Omit<OutboundMessage, "text">) => {
    if (deps.replica.holds(accountLease(address.platform, address.account))) return false;
    await deps.outbox.put({ address, text, message });
    return true;
  };
}

export function drainOutbox(deps: OutboxDeps): () => void {
  let running = false;
  const tick = async () => {
    if (running || deps.stopping()) return;
    running = true;
    try {
      for (const adapter of deps.adapters()) {
        if (!adapter.sendsOverConnection) continue;
        if (!deps.replica.holds(accountLease(adapter.platform, adapter.account))) continue;
        const items = await deps.outbox.take(
          adapter.platform,
          adapter.account,
          deps.replica.id,
          BATCH,
          STALE_MS,
        );
        for (const item of items) {
          if (Date.now() - item.createdAt > MAX_AGE_MS) {
            deps.logger.warn(
              { platform: adapter.platform, account: adapter.account, chatId: item.address.chatId },
              "a send forwarded by another replica waited too long; dropped",
            );
          } else {
            try {
              await deps.send(item.address, item.text, item.message);
            } catch (err) {
              // Taken again once stale, by this holder or the next.
              deps.logger.warn({ err, platform: adapter.platform }, "a forwarded send failed; it is retried");
              continue;
            }
          }
          await deps.outbox.done(item.id);
        }
      }
    } catch (err) {
      deps.logger.warn({ err }, "cannot read the outbox");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), deps.pollMs ?? OUTBOX_POLL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
