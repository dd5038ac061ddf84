import { type AdapterContext, type InboundMessage, memoryLogger } from "@switchboard/core";
import { DiscordAdapter } from "../src/index.ts";
import { discordConfigSchema } from "../src/types.ts";
import type { FakeDiscord } from "./fake-discord.ts";

/** A hand-built AdapterContext that records what the adapter dispatches. */
export function recordingContext() {
  const inbound: InboundMessage[] = [];
  const waiters = new Set<{
    predicate: (m: InboundMessage) => boolean;
    resolve: (m: InboundMessage) => void;
  }>();
  const controller = new AbortController();
  const logger = memoryLogger();
  const ctx: AdapterContext = {
    async dispatch(message) {
      inbound.push(message);
      for (const w of waiters) {
        if (w.predicate(message)) {
          waiters.delete(w);
          w.resolve(message);
        }
      }
    },
    logger,
    signal: controller.signal,
    http: { route: () => {} },
  };
  const next = (
    predicate: (m: InboundMessage) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<InboundMessage> => {
    const found = inbound.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (m: InboundMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching inbound message within ${timeoutMs} ms (got ${inbound.length})`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  return { ctx, inbound, logger, controller, next };
}

/** An adapter for one of the fake's bots, with its config parsed by the real schema. */
export function adapterFor(
  fake: FakeDiscord,
  account = "default",
  extra: Record<string, unknown> = {},
): DiscordAdapter {
  const config = discordConfigSchema.parse({
    token: fake.bot(account).token,
    api_url: fake.apiUrl,
    global_requests_per_second: 10_000,
    ...extra,
  });
  return new DiscordAdapter(config, { account, readyTimeoutMs: 5000 });
}
