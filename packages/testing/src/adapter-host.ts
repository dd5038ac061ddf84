import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AdapterContext, type HttpHandler, type InboundMessage, memoryLogger } from "@switchboard/core";

/**
 * For adapter unit tests: a stand-in for the gateway's HTTP listener and adapter context: mounts the adapter's routes on a real
 * server on 127.0.0.1 and records what the adapter dispatches.
 */
export interface Host {
  url: string;
  ctx: AdapterContext;
  logger: ReturnType<typeof memoryLogger>;
  dispatched: InboundMessage[];
  /** Resolve with the first dispatched message (past or future) matching `predicate`. */
  waitForDispatch(predicate?: (m: InboundMessage) => boolean, timeoutMs?: number): Promise<InboundMessage>;
  /** Resolve after `ms` with nothing dispatched meanwhile beyond `count`, or reject. */
  expectNoDispatch(count: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHost(): Promise<Host> {
  const routes = new Map<string, HttpHandler>();
  const dispatched: InboundMessage[] = [];
  const waiters: Array<{ predicate: (m: InboundMessage) => boolean; resolve: (m: InboundMessage) => void }> =
    [];
  const controller = new AbortController();
  const logger = memoryLogger();

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const handler = routes.get(`${req.method} ${url.pathname}`) ?? routes.get(`* ${url.pathname}`);
    if (!handler) {
      res.writeHead(404).end("no route");
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url, {
      method: req.method!,
      headers,
      ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ctx: AdapterContext = {
    logger,
    signal: controller.signal,
    http: {
      route: (method, path, handler) => {
        routes.set(`${method.toUpperCase()} ${path}`, handler);
      },
    },
    dispatch: async (inbound) => {
      dispatched.push(inbound);
      for (const w of waiters.splice(0)) {
        if (w.predicate(inbound)) w.resolve(inbound);
        else waiters.push(w);
      }
    },
  };

  return {
    url,
    ctx,
    logger,
    dispatched,
    waitForDispatch(predicate = () => true, timeoutMs = 5000) {
      const found = dispatched.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error("nothing matching was dispatched in time")),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async expectNoDispatch(count, ms = 150) {
      await new Promise((r) => setTimeout(r, ms));
      if (dispatched.length !== count) {
        throw new Error(`expected ${count} dispatched messages, got ${dispatched.length}`);
      }
    },
    async close() {
      controller.abort();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
