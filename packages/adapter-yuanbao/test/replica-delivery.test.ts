import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  Replica,
  silentLogger,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { platform } from "../src/index.ts";
import { FakeYuanbao, yuanbaoSection } from "./fake-yuanbao.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Yuanbao sends only over the WebSocket it receives on. Two replicas on one SQLite file: A holds the account's
 * connection, B stands by (never connects) — B's deliveries go to A through the store's outbox.
 */
async function twoReplicas() {
  const fake = await FakeYuanbao.start();
  const home = mkdtempSync(join(tmpdir(), "sb-yuanbao-replicas-"));
  cleanups.push(async () => {
    await fake.close();
    rmSync(home, { recursive: true, force: true });
  });
  const replica = async (id: string) => {
    const config = buildConfig(
      {
        agents: { main: {} },
        platforms: { yuanbao: { ...yuanbaoSection(fake), allow_all_users: true } },
        api_server: { enabled: false },
        session: { debounce_s: 0 },
      },
      { file: undefined, home, env: {}, platforms: { yuanbao: platform } },
    );
    const store = openSessionStore(join(home, "state.db"));
    const adapters = [...(config.platformAccounts.get("yuanbao") ?? [])].map(([account, cfg]) =>
      platform.create(cfg as never, { account }),
    );
    const gateway: GatewayRuntime = createGateway({
      config,
      store,
      runner: createEchoRunner(),
      adapters,
      replica: new Replica({ id, leases: store.leases, leaseMs: 5000, logger: silentLogger() }),
    });
    await gateway.start();
    cleanups.push(async () => {
      await gateway.stop({ timeoutMs: 2000 });
      await store.close();
    });
    return gateway;
  };
  const a = await replica("a");
  const b = await replica("b");
  return { fake, a, b };
}

const state = (gw: GatewayRuntime) => gw.ops.adapters().find((h) => h.platform === "yuanbao")?.state;

describe("Yuanbao sends from a standby replica", () => {
  it("a delivery made on the standby is sent once, by the replica holding the connection", async () => {
    const { fake, a, b } = await twoReplicas();
    expect(state(a)).toBe("connected");
    expect(state(b)).toBe("standby");
    await b.deliver(
      { platform: "yuanbao", account: "default", chatId: "bea", chatType: "dm" },
      "report from b",
      { agentId: "main" },
    );
    await fake.waitForSent((m) => m.text.includes("report from b"), 5000);
    await new Promise((r) => setTimeout(r, 600));
    expect(fake.sent().filter((m) => m.text.includes("report from b"))).toHaveLength(1);
    expect(state(b)).toBe("standby");
  });
});
