import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type GatewayRuntime,
  type InboundMessage,
  openSessionStore,
  Replica,
  type SessionStore,
  silentLogger,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, platform, TestAdapter, TestNetwork } from "../src/index.ts";

/** A test account served by webhooks: every replica receives it (no account lease). */
class WebhookAdapter extends TestAdapter {
  readonly receives = "webhook" as const;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two replicas in one process: two gateways, each with its own connection to one SQLite file and its own
 * leases on it (what two processes on one database do), replying through one test network.
 */
function twoReplicas(
  debounce: { a: number; b: number },
  replicaOptions: { sweepMs?: number; stalledMs?: number } = {},
) {
  const home = mkdtempSync(join(tmpdir(), "sb-replica-order-"));
  const file = join(home, "state.db");
  const network = new TestNetwork();
  const gateway = (id: string, debounceS: number): { gw: GatewayRuntime; store: SessionStore } => {
    const store = openSessionStore(file);
    const config = buildConfig(
      {
        agents: { main: {} },
        platforms: { test: { allow_all_users: true } },
        session: { debounce_s: debounceS },
      },
      { file: undefined, home, env: {}, platforms: { test: platform } },
    );
    const replica = new Replica({
      id,
      leases: store.leases,
      leaseMs: 2000,
      sessionPollMs: 10,
      logger: silentLogger(),
      ...replicaOptions,
    });
    const gw = createGateway({
      config,
      store,
      runner: createEchoRunner(),
      adapters: [new WebhookAdapter({ network })],
      replica,
    });
    cleanups.push(async () => {
      await gw.stop({ timeoutMs: 1000 });
      await store.close();
    });
    return { gw, store };
  };
  const a = gateway("a", debounce.a);
  const b = gateway("b", debounce.b);
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return { a, b, network };
}

const message = (n: string, chat = "c1"): InboundMessage => ({
  platform: "test",
  account: "default",
  messageId: `m${n}`,
  chat: { id: chat, type: "dm" },
  user: { id: "u1" },
  text: `msg ${n}`,
});

/** Every `msg N` in what was sent to `chat`, in the order sent. */
const answered = (network: TestNetwork, chat = "c1") =>
  network
    .sent()
    .filter((m) => m.chatId === chat)
    .flatMap((m) => m.text.match(/msg \d+/g) ?? []);

describe("per-chat order across replicas (webhook accounts)", () => {
  it("answers 1 then 2 when 2 reaches the faster replica: the lease holder runs the session's inbox in claim order", async () => {
    // Replica a waits for a quiet spell before its turn (a slow replica); b starts at once.
    const { a, b, network } = twoReplicas({ a: 0.4, b: 0 });
    expect((await a.gw.dispatch(message("1"))).status).toBe("queued");
    expect((await b.gw.dispatch(message("2"))).status).toBe("queued");
    await network.waitForSent((m) => m.text.includes("msg 2"), 5000);
    // Replica a's turn comes after: message 1 was answered already, so it runs nothing.
    await sleep(700);
    await Promise.all([a.gw.idle(), b.gw.idle()]);
    expect(answered(network)).toEqual(["msg 1", "msg 2"]);
  });

  it("keeps order over a burst spread across both replicas, each message answered once", async () => {
    const { a, b, network } = twoReplicas({ a: 0.05, b: 0 });
    const gws = [a.gw, b.gw];
    for (let n = 1; n <= 8; n++) {
      await gws[n % 2]!.dispatch(message(String(n)));
      await sleep(n % 3 === 0 ? 30 : 0);
    }
    const deadline = Date.now() + 8000;
    while (answered(network).length < 8 && Date.now() < deadline) await sleep(50);
    await sleep(300);
    expect(answered(network)).toEqual(Array.from({ length: 8 }, (_, i) => `msg ${i + 1}`));
  });

  it("runs a message left in the inbox by a replica that never ran it, once nobody runs the session", async () => {
    // Replica a accepts message 1 and then never gets to its turn (its debounce stands in for a dead replica);
    // replica b's sweep finds the inbox left behind and answers it.
    const { a, network } = twoReplicas({ a: 30, b: 0 }, { sweepMs: 100, stalledMs: 300 });
    expect((await a.gw.dispatch(message("1", "c2"))).status).toBe("queued");
    await network.waitForSent((m) => m.chatId === "c2" && m.text.includes("msg 1"), 5000);
    await sleep(400);
    expect(answered(network, "c2")).toEqual(["msg 1"]);
  });
});
