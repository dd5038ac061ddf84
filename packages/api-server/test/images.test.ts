import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAgentRunner } from "@switchboard/agent";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

/** A 1×1 PNG. */
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

/** An image server on loopback that counts every request it gets. */
let images: Server;
let imagesPort = 0;
const hits: string[] = [];
let stub: StubLlm;
let api: TestApi | undefined;

beforeAll(async () => {
  images = createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/cat.png") {
      res.writeHead(200, { "content-type": "image/png" }).end(PIXEL);
    } else if (req.url === "/big.png") {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(Buffer.alloc(300_000));
    } else if (req.url === "/slow.png") {
      res.writeHead(200, { "content-type": "image/png" });
      res.write(PIXEL.subarray(0, 4)); // …and never the rest
    } else if (req.url === "/to-metadata") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
    } else if (req.url === "/to-loopback-ip") {
      res.writeHead(302, { location: `http://127.0.0.1:${imagesPort}/cat.png` }).end();
    } else if (req.url === "/page") {
      res.writeHead(200, { "content-type": "text/html" }).end("<html></html>");
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
  imagesPort = (images.address() as AddressInfo).port;
  stub = await startStubLlm();
});
afterAll(async () => {
  images.closeAllConnections();
  await new Promise((r) => images.close(r));
  await stub.close();
});
afterEach(async () => {
  await api?.close();
  api = undefined;
  hits.length = 0;
});

/** The gateway on the real agent runtime, its model an openai-compatible provider at the stub. */
async function start(imagesConfig: Record<string, unknown> = {}) {
  api = await startApi(
    {
      providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
      agents: { main: { model: { provider: "stub", name: "stub-model" } } },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }], images: imagesConfig },
    },
    { runner: createAgentRunner({ maxRetries: 0 }) },
  );
  return api;
}

const ask = (api: TestApi, url: string) =>
  postJson(
    api,
    "/v1/chat/completions",
    {
      model: "main",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url } },
          ],
        },
      ],
    },
    { key: KEYS.admin },
  );

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; param: string } }).error;

describe("images by URL", () => {
  it("never fetches, nor lets the provider fetch, a URL whose host is private, loopback or link-local", async () => {
    const api = await start();
    const before = stub.requests.length;
    for (const url of [
      `http://127.0.0.1:${imagesPort}/cat.png`,
      // A name, not a literal: the check is on the address it resolves to.
      `http://localhost:${imagesPort}/cat.png`,
      `http://[::ffff:127.0.0.1]:${imagesPort}/cat.png`,
      "http://169.254.169.254/latest/meta-data/",
      "http://10.1.2.3/x.png",
    ]) {
      const res = await ask(api, url);
      expect(res.status, url).toBe(400);
      expect(await errorOf(res), url).toMatchObject({ code: "image_forbidden_address", param: "image_url" });
    }
    expect(hits).toEqual([]);
    expect(stub.requests.length).toBe(before);
  });

  it("downloads an allowed image itself and hands the provider a data URL, never the URL", async () => {
    const api = await start({ trusted_hosts: ["localhost"] });
    const url = `http://localhost:${imagesPort}/cat.png`;
    const res = await ask(api, url);
    expect(res.status).toBe(200);
    expect(hits).toEqual(["/cat.png"]);
    const sent = JSON.stringify(stub.requests.at(-1));
    expect(sent).not.toContain(url);
    expect(sent).toContain(`data:image/png;base64,${PIXEL.toString("base64")}`);
  });

  it("checks every redirect again, and refuses what is not an image", async () => {
    const api = await start({ trusted_hosts: ["localhost"] });
    for (const path of ["/to-metadata", "/to-loopback-ip"]) {
      const res = await ask(api, `http://localhost:${imagesPort}${path}`);
      expect(res.status, path).toBe(400);
      expect((await errorOf(res)).code).toBe("image_forbidden_address");
    }
    expect(hits).toEqual(["/to-metadata", "/to-loopback-ip"]);
    const page = await ask(api, `http://localhost:${imagesPort}/page`);
    expect(page.status).toBe(400);
    expect((await errorOf(page)).code).toBe("image_fetch_failed");
  });

  it("caps an image's size and the time it may take", async () => {
    const api = await start({ trusted_hosts: ["localhost"], max_bytes: 100_000, timeout_s: 0.3 });
    const big = await ask(api, `http://localhost:${imagesPort}/big.png`);
    expect(big.status).toBe(400);
    expect((await errorOf(big)).code).toBe("image_too_large");
    const t0 = Date.now();
    const slow = await ask(api, `http://localhost:${imagesPort}/slow.png`);
    expect(slow.status).toBe(400);
    expect((await errorOf(slow)).code).toBe("image_timeout");
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
