import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

const SECRET = "webhook-secret-0123";
const LIMIT = 64 * 1024;
const home = mkdtempSync(join(tmpdir(), "sb-webhook-limits-"));
let fake: FakeTelegram;
let gw: RunningGateway;

beforeAll(async () => {
  fake = await FakeTelegram.start([DEFAULT_BOT]);
  writeFileSync(
    join(home, "config.yaml"),
    `api_server: { port: 0, webhook_max_body_bytes: ${LIMIT} }
cron: { enabled: false }
agents: { main: {} }
platforms:
  telegram:
    api_url: ${fake.url}
    mode: webhook
    webhook_secret: ${SECRET}
    allow_all_users: true
    accounts:
      default: { token: "${DEFAULT_BOT.token}" }
`,
  );
  gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false, env: {} });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  rmSync(home, { recursive: true, force: true });
});

/** POST raw bytes with Node's client: with a `content-length`, or chunked so only counting can catch it. */
function post(body: Buffer, chunked: boolean): Promise<{ status: number; text: string }> {
  const url = new URL(`${gw.url}/telegram/default`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": SECRET,
          ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": body.length }),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server may answer and close before the whole body is written.
    req.on("error", (err) =>
      String(err).includes("EPIPE") || String(err).includes("ECONNRESET") ? undefined : reject(err),
    );
    if (chunked) {
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
      req.end();
    } else req.end(body);
  });
}

let nextId = 1;
const update = (text: string) =>
  Buffer.from(
    JSON.stringify({
      update_id: nextId,
      message: {
        message_id: nextId++,
        date: 0,
        chat: { id: 42, type: "private" },
        from: { id: 42, is_bot: false, first_name: "A" },
        text,
      },
    }),
  );

describe("webhook bodies have a size limit (api_server.webhook_max_body_bytes)", () => {
  it("answers 413 to an over-size Telegram update declared by content-length", async () => {
    const r = await post(update("x".repeat(LIMIT * 4)), false);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error).toMatchObject({ code: "request_too_large" });
  });

  it("answers 413 to an over-size chunked body, counted as it arrives", async () => {
    const r = await post(update("y".repeat(LIMIT * 4)), true);
    expect(r.status).toBe(413);
  });

  it("still accepts an update under the limit", async () => {
    const r = await post(update("small hello"), true);
    expect(r.status).toBe(200);
    expect((await fake.waitForSent((m) => m.text.includes("small hello"))).text).toBe("[main] small hello");
  });
});
