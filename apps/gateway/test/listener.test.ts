import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";

const home = mkdtempSync(join(tmpdir(), "sb-listener-"));
let gw: RunningGateway;
const hookCalls: string[] = [];

beforeAll(async () => {
  writeFileSync(
    join(home, "config.yaml"),
    "api_server: { port: 0, request_timeout_s: 1 }\nagents:\n  main: {}\n",
  );
  gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
  // A webhook as an adapter mounts it on the gateway's one listener.
  gw.gateway.http.scoped("telegram/default").route("POST", "/telegram/default", async (req) => {
    hookCalls.push(await req.text());
    return new Response("ok");
  });
});
afterAll(async () => {
  await gw?.stop();
  rmSync(home, { recursive: true, force: true });
});

function post(path: string, host: string, body: string): Promise<{ status: number; body: string }> {
  const u = new URL(gw.url!);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: "POST",
        headers: { host, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the gateway's listener", () => {
  it("serves the console at /console: the open loopback console, with its banner", async () => {
    const res = await fetch(`${gw.url}/console/agents`);
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/^sb_console=.*HttpOnly; SameSite=Strict; Path=\/console/);
    expect(await res.text()).toContain("Open console.");
  });

  it("checks Host on webhook routes too: a foreign Host never reaches the adapter", async () => {
    const foreign = await post("/telegram/default", "evil.example", '{"update_id":1}');
    expect(foreign.status).toBe(421);
    expect(JSON.parse(foreign.body).error.code).toBe("host_not_allowed");
    expect(hookCalls).toEqual([]);
    const local = await post("/telegram/default", `localhost:${new URL(gw.url!).port}`, '{"update_id":2}');
    expect(local.status).toBe(200);
    expect(hookCalls).toEqual(['{"update_id":2}']);
  });

  it("cuts a request whose body trickles in slower than api_server.request_timeout_s", async () => {
    const u = new URL(gw.url!);
    const socket = connect(Number(u.port), u.hostname);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const started = Date.now();
    let answer = "";
    socket.on("data", (d) => (answer += d));
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - started)));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    // One byte every 200 ms: without a request timeout this would hold the socket for minutes.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(" ");
    }, 200);
    try {
      const elapsed = await Promise.race([
        closed,
        new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 8000)),
      ]);
      expect(elapsed).toBeLessThan(8000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});
