import type { AdapterContext, HttpHandler, InboundMessage } from "@switchboard/core";
import { silentLogger } from "@switchboard/core";
import { type HttpBridge, startHttpBridge } from "@switchboard/testing";
import { type TelegramAdapterConfig, telegramConfigSchema } from "../src/index.ts";
import type { FakeBot, FakeTelegram } from "./fake-telegram.ts";

/** A validated account config pointing at the fake, as the gateway would build it. */
export function configFor(
  fake: FakeTelegram,
  bot: FakeBot,
  extra: Record<string, unknown> = {},
): TelegramAdapterConfig {
  return telegramConfigSchema.parse({ token: bot.token, api_url: fake.url, poll_timeout_s: 5, ...extra });
}

export interface TestContext {
  ctx: AdapterContext;
  inbound: InboundMessage[];
  /** Resolve once `n` messages were dispatched in total. */
  waitForInbound(n: number, timeoutMs?: number): Promise<InboundMessage[]>;
  /** `ctx.http` routes served on a loopback HTTP listener (started on first use). */
  serve(): Promise<HttpBridge>;
  abort(): void;
}

/** A hand-built `AdapterContext`: dispatch records, `http.route` collects, `dispatchDelayMs` slows core down. */
export function testContext(
  options: { stateDir?: string; dispatch?: (m: InboundMessage) => Promise<void> } = {},
): TestContext {
  const inbound: InboundMessage[] = [];
  const routes = new Map<string, HttpHandler>();
  const abort = new AbortController();
  const ctx: AdapterContext = {
    async dispatch(m) {
      await options.dispatch?.(m);
      inbound.push(m);
    },
    logger: silentLogger(),
    signal: abort.signal,
    http: { route: (method, path, handler) => void routes.set(`${method} ${path}`, handler) },
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
  };
  return {
    ctx,
    inbound,
    async waitForInbound(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (inbound.length < n) {
        if (Date.now() > deadline)
          throw new Error(`expected ${n} dispatched messages, got ${inbound.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return inbound;
    },
    serve: () =>
      startHttpBridge(async (request) => {
        const handler = routes.get(`${request.method} ${new URL(request.url).pathname}`);
        return handler ? handler(request) : undefined;
      }),
    abort: () => abort.abort(),
  };
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
