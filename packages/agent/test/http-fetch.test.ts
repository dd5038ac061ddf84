import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHttpFetch } from "../src/http-fetch.ts";
import { createUndiciFetch } from "../src/undici-fetch.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface TestServer {
  url: string;
  requests: Array<{ method: string; path: string; headers: IncomingMessage["headers"]; body: string }>;
  /** Resolves when a request's connection closes before its response ended. */
  clientGone: Promise<void>;
  close(): Promise<void>;
}

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  servers = [];
});

async function serve(handler: Handler): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  let gone!: () => void;
  const clientGone = new Promise<void>((r) => {
    gone = r;
  });
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      res.on("close", () => {
        if (!res.writableEnded) gone();
      });
      handler(req, body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    clientGone,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A node fetch whose platform fallback counts its calls, so a test knows which path a request took. */
let create = createHttpFetch;
function nodeFetch(options: { responseTimeoutMs?: number } = {}) {
  const fallbackUrls: string[] = [];
  const fetchFn = create({
    ...options,
    fallback: (input, init) => {
      fallbackUrls.push(String(input));
      return fetch(input, init);
    },
  });
  return { fetchFn, fallbackUrls };
}

const withTimeout = <T>(p: Promise<T>, ms = 5000) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms)),
  ]);

// The same contract for the node:http fetch the model SDKs use and the undici `request` one the bench compares.
describe.each([
  ["node:http", createHttpFetch],
  ["undici request", createUndiciFetch],
])("the %s fetch for the model SDKs", (_name, factory) => {
  beforeEach(() => {
    create = factory;
  });

  it("posts the body with fetch's default headers and streams the answer as it arrives", async () => {
    let release!: () => void;
    const second = new Promise<void>((r) => {
      release = r;
    });
    const server = await serve((_req, _body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "x-extra": "yes" });
      res.write("data: one\n\n");
      void second.then(() => res.end("data: two\n\n"));
    });
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ hello: "wörld" }),
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${server.url}/v1/chat/completions`);
    expect(res.headers.get("x-extra")).toBe("yes");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The first event is readable while the server still holds the second one back.
    expect((await withTimeout(reader.read())).value).toBe("data: one\n\n");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await withTimeout(reader.read());
      if (done) break;
      rest += value;
    }
    expect(rest).toBe("data: two\n\n");

    const seen = server.requests[0]!;
    expect(seen.method).toBe("POST");
    expect(seen.path).toBe("/v1/chat/completions");
    expect(JSON.parse(seen.body)).toEqual({ hello: "wörld" });
    expect(seen.headers["content-length"]).toBe(String(Buffer.byteLength(seen.body)));
    expect(seen.headers.authorization).toBe("Bearer k");
    expect(seen.headers.accept).toBe("*/*");
    expect(seen.headers["accept-encoding"]).toBe("gzip, deflate");
    expect(fallbackUrls).toEqual([]);
  });

  it("sends the same header names as the platform fetch for the same request", async () => {
    const server = await serve((_req, _body, res) => res.end("ok"));
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
    const { fetchFn, fallbackUrls } = nodeFetch();
    await (await fetchFn(`${server.url}/a`, init)).text();
    await (await fetch(`${server.url}/b`, init)).text();
    expect(fallbackUrls).toEqual([]);
    const names = (i: number) =>
      Object.keys(server.requests[i]!.headers)
        .filter((h) => h !== "connection")
        .sort();
    expect(names(0)).toEqual(names(1));
  });

  it("reports an unreachable server as fetch does: a TypeError 'fetch failed' with the socket error as cause", async () => {
    const server = await serve((_req, _body, res) => res.end());
    const { url } = server;
    await server.close();
    const { fetchFn, fallbackUrls } = nodeFetch();
    const err = (await fetchFn(`${url}/x`, { method: "POST", body: "{}" }).catch((e) => e)) as TypeError;
    expect(fallbackUrls).toEqual([]);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("fetch failed");
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("rejects with the abort reason before the answer and disconnects from the server", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const { fetchFn, fallbackUrls } = nodeFetch();
    const pending = fetchFn(`${server.url}/x`, { method: "POST", body: "{}", signal: controller.signal });
    await withTimeout(
      (async () => {
        while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    const reason = new DOMException("stopped", "AbortError");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await withTimeout(server.clientGone);
    expect(fallbackUrls).toEqual([]);
  });

  it("errors the body with the abort reason mid-stream and disconnects from the server", async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
    });
    const controller = new AbortController();
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn(`${server.url}/x`, { method: "POST", body: "{}", signal: controller.signal });
    const reader = res.body!.getReader();
    await withTimeout(reader.read());
    controller.abort();
    const err = (await reader.read().catch((e) => e)) as DOMException;
    expect(err.name).toBe("AbortError");
    await withTimeout(server.clientGone);
    expect(fallbackUrls).toEqual([]);
  });

  it("fails with a TimeoutError when the answer does not start in time", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const { fetchFn, fallbackUrls } = nodeFetch({ responseTimeoutMs: 50 });
    const err = (await fetchFn(`${server.url}/x`, { method: "POST", body: "{}" }).catch(
      (e) => e,
    )) as DOMException;
    expect(err.name).toBe("TimeoutError");
    expect(err.message).toBe("no response within 50 ms");
    await withTimeout(server.clientGone);
    expect(fallbackUrls).toEqual([]);
  });

  it("errors the body with 'terminated' when the server drops the connection mid-answer", async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n", () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn(`${server.url}/x`, { method: "POST", body: "{}" });
    const err = (await res.text().catch((e) => e)) as TypeError;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("terminated");
    expect(fallbackUrls).toEqual([]);
  });

  it("decodes a gzip answer and gives 204 no body", async () => {
    const server = await serve((req, _body, res) => {
      if (req.url === "/empty") {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      res.end(gzipSync(JSON.stringify({ error: { message: "compressed" } })));
    });
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn(`${server.url}/json`, { method: "POST", body: "{}" });
    expect(await res.json()).toEqual({ error: { message: "compressed" } });
    const empty = await fetchFn(`${server.url}/empty`, { method: "POST", body: "{}" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect(fallbackUrls).toEqual([]);
  });

  it("follows a redirect through the platform fetch", async () => {
    const server = await serve((req, _body, res) => {
      if (req.url === "/old") {
        res.writeHead(307, { location: "/new" });
        res.end();
      } else res.end(`at ${req.url}`);
    });
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn(`${server.url}/old`, { method: "POST", body: "{}" });
    expect(await res.text()).toBe("at /new");
    expect(server.requests.map((r) => r.path)).toEqual(["/old", "/old", "/new"]);
    expect(fallbackUrls).toEqual([`${server.url}/old`]);
  });

  it("hands requests it does not implement to the platform fetch", async () => {
    const { fetchFn, fallbackUrls } = nodeFetch();
    const res = await fetchFn("data:text/plain,hello");
    expect(await res.text()).toBe("hello");
    expect(fallbackUrls).toEqual(["data:text/plain,hello"]);
  });
});

// undici's pool may open a second socket when the next request is sent before it has parsed the end of the
// previous answer; the node:http fetch the runner uses by default always reuses the idle one.
describe("the node:http fetch for the model SDKs, keep-alive", () => {
  beforeEach(() => {
    create = createHttpFetch;
  });
  it("reuses one keep-alive connection for calls in sequence", async () => {
    const ports = new Set<number>();
    const server = await serve((req, _body, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.end("ok");
    });
    const { fetchFn, fallbackUrls } = nodeFetch();
    for (let i = 0; i < 3; i++)
      await (await fetchFn(`${server.url}/x`, { method: "POST", body: "{}" })).text();
    expect(ports.size).toBe(1);
    expect(fallbackUrls).toEqual([]);
  });
});
