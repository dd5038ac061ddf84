import type { AdapterContext, HttpHandler, InboundMessage } from "@switchboard/core";
import { silentLogger } from "@switchboard/core";
import { type HttpBridge, startHttpBridge } from "@switchboard/testing";
import { createSlackAdapter, type SlackAdapter, slackConfigSchema } from "../src/index.ts";
import { FakeSlack, type FakeWorkspace } from "./fake-slack.ts";

const WAIT_MS = 5000;

/** A started adapter per account against a fake Slack, with what it dispatched recorded. */
export interface SlackHarness {
  fake: FakeSlack;
  bridge: HttpBridge;
  adapters: Map<string, SlackAdapter>;
  adapter: SlackAdapter;
  inbound: InboundMessage[];
  waitForInbound(predicate: (m: InboundMessage) => boolean, timeoutMs?: number): Promise<InboundMessage>;
  close(): Promise<void>;
}

/**
 * Start a fake Slack and one adapter per workspace, the way the gateway would: the account's
 * merged config parsed by the adapter's schema, HTTP routes served on a loopback listener.
 */
export async function startSlack(options: {
  mode: "socket" | "http";
  workspaces?: FakeWorkspace[];
  config?: Record<string, unknown>;
  /** Runs inside `ctx.dispatch` after the message is recorded (e.g. to hold core busy). */
  onDispatch?: (m: InboundMessage) => Promise<void>;
}): Promise<SlackHarness> {
  const routes = new Map<string, HttpHandler>();
  const bridge = await startHttpBridge((req) => {
    const handler = routes.get(`${req.method} ${new URL(req.url).pathname}`);
    return handler ? handler(req) : undefined;
  });
  const fake = await FakeSlack.start({
    mode: options.mode,
    gatewayUrl: bridge.url,
    ...(options.workspaces ? { workspaces: options.workspaces } : {}),
  });
  const inbound: InboundMessage[] = [];
  const waiters = new Set<{ p: (m: InboundMessage) => boolean; resolve: (m: InboundMessage) => void }>();
  const controller = new AbortController();
  const ctx: AdapterContext = {
    logger: silentLogger(),
    signal: controller.signal,
    http: { route: (method, path, handler) => void routes.set(`${method} ${path}`, handler) },
    dispatch: async (m) => {
      inbound.push(m);
      for (const w of waiters) {
        if (w.p(m)) {
          waiters.delete(w);
          w.resolve(m);
        }
      }
      await options.onDispatch?.(m);
    },
  };

  const adapters = new Map<string, SlackAdapter>();
  const closeAll = async () => {
    controller.abort();
    for (const a of adapters.values()) await a.stop();
    await fake.close();
    await bridge.close();
  };
  try {
    for (const w of fake.workspaces) {
      const section = fake.config(options.config ?? {}) as {
        accounts: Record<string, Record<string, unknown>>;
      };
      const { accounts, ...shared } = section;
      const config = slackConfigSchema.parse({ ...shared, ...accounts[w.account] });
      const adapter = createSlackAdapter(config, { account: w.account });
      adapters.set(w.account, adapter);
      await adapter.start(ctx);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  return {
    fake,
    bridge,
    adapters,
    adapter: adapters.get("default") ?? [...adapters.values()][0]!,
    inbound,
    waitForInbound(predicate, timeoutMs = WAIT_MS) {
      const hit = inbound.find(predicate);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const waiter = {
          p: predicate,
          resolve: (m: InboundMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(`no matching inbound message within ${timeoutMs} ms; got ${JSON.stringify(inbound)}`),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: closeAll,
  };
}

/** Let queued work run, for asserting that something did NOT happen. */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
