import { type AdapterContext, type InboundMessage, memoryLogger } from "@switchboard/core";
import { createMatrixAdapter, type MatrixAdapter, type MatrixAdapterInput } from "../src/index.ts";
import type { FakeHomeserver } from "./fake-homeserver.ts";

export interface Harness {
  adapter: MatrixAdapter;
  inbound: InboundMessage[];
  log: ReturnType<typeof memoryLogger>;
  /** Resolve with the first dispatched message (past or future) matching `predicate`. */
  next(predicate?: (m: InboundMessage) => boolean, timeoutMs?: number): Promise<InboundMessage>;
}

/** The config of a fake bot account; `overrides` replace keys (undefined removes one). */
export function accountConfig(
  fake: FakeHomeserver,
  account = "default",
  overrides: Partial<MatrixAdapterInput> = {},
): MatrixAdapterInput {
  const bot = fake.bot(account);
  const config: MatrixAdapterInput = {
    homeserver: fake.url,
    user_id: bot.userId,
    access_token: bot.accessToken,
    allowed_users: ["@alice:fake.local"],
    sync_timeout_ms: 2_000,
    ...overrides,
  };
  for (const [k, v] of Object.entries(config))
    if (v === undefined) delete (config as Record<string, unknown>)[k];
  return config;
}

/** Start an adapter for `account` against the fake with a recording context. */
export async function startAdapter(
  fake: FakeHomeserver,
  account = "default",
  overrides: Partial<MatrixAdapterInput> = {},
): Promise<Harness> {
  const adapter = createMatrixAdapter(accountConfig(fake, account, overrides), { account });
  const inbound: InboundMessage[] = [];
  const waiters = new Set<(m: InboundMessage) => void>();
  const log = memoryLogger();
  const ctx: AdapterContext = {
    dispatch: async (m) => {
      inbound.push(m);
      for (const w of [...waiters]) w(m);
    },
    logger: log,
    signal: new AbortController().signal,
    http: { route: () => {} },
  };
  await adapter.start(ctx);
  const next = (
    predicate: (m: InboundMessage) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<InboundMessage> => {
    const found = inbound.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = (m: InboundMessage): void => {
        if (!predicate(m)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(m);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching inbound message within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  return { adapter, inbound, log, next };
}
