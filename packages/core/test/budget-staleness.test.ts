import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.ts";
import { silentLogger } from "../src/logger.ts";
import { Operations, TurnRefusedError } from "../src/operate/operations.ts";
import { USAGE_TOTAL_TTL_MS } from "../src/sessions/operations-store.ts";
import { openSessionStore } from "../src/sessions/store.ts";
import type { SessionStore } from "../src/sessions/store-types.ts";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Two gateways' accounting on one SQLite file (each its own connection and cache), one clock. */
function twoGateways(budget: Record<string, unknown>) {
  const home = mkdtempSync(join(tmpdir(), "sb-budget-stale-"));
  cleanup.push(() => rmSync(home, { recursive: true, force: true }));
  let clock = Date.UTC(2026, 11, 1, 12, 0, 0);
  const now = () => clock;
  const config = buildConfig(
    { agents: { main: { budget } }, platforms: { chat: { allow_all_users: true } }, log_level: "silent" },
    { file: undefined, home, env: {}, platforms: {} },
  );
  const stores: SessionStore[] = [];
  const open = () => {
    const store: SessionStore = openSessionStore(join(home, "state.db"), { now });
    stores.push(store);
    cleanup.push(() => store.close());
    return new Operations({ config: () => config, store, logger: silentLogger(), now });
  };
  return {
    a: open(),
    b: open(),
    stores,
    advance(ms: number) {
      clock += ms;
    },
  };
}

const party = { agentId: "main", platform: "chat", userId: "ada" };
const usage = (tokens: number) => ({ inputTokens: tokens, outputTokens: 0 });

/** One turn of `party` through `ops` that spends `tokens`. */
async function spend(ops: Operations, tokens: number, sessionId = "s1"): Promise<void> {
  const admitted = await ops.admit(party);
  await ops.record(admitted, usage(tokens), sessionId);
  admitted.release();
}

async function refusal(ops: Operations): Promise<TurnRefusedError | undefined> {
  try {
    (await ops.admit(party)).release();
    return undefined;
  } catch (err) {
    if (err instanceof TurnRefusedError) return err;
    throw err;
  }
}

describe("budgets across two gateways on one store", () => {
  it("a gateway's own spend counts at once; the other's within USAGE_TOTAL_TTL_MS", async () => {
    const { a, b, advance } = twoGateways({ daily: 100 });
    // Both have read today's totals (nothing spent yet).
    expect(await refusal(a)).toBeUndefined();
    expect(await refusal(b)).toBeUndefined();

    await spend(a, 100);

    // The gateway that spent refuses the next turn without waiting for its cache to expire.
    expect((await refusal(a))?.kind).toBe("budget");
    // The other one trusts what it read for up to the bound (this is the overshoot the docs state) ...
    advance(USAGE_TOTAL_TTL_MS - 1);
    expect(await refusal(b)).toBeUndefined();
    // ... and no longer: past it, it reads the store again and sees the other gateway's spend.
    advance(1);
    const refused = await refusal(b);
    expect(refused?.kind).toBe("budget");
    expect(refused?.message).toMatch(/daily budget of agent "main" \(100 tokens\) is used up/);
  });

  it("spend by both gateways adds up in the store, whatever each had cached", async () => {
    const { a, b, advance } = twoGateways({ daily: 1000 });
    for (const [ops, tokens] of [
      [a, 300],
      [b, 200],
      [a, 100],
    ] as const) {
      await spend(ops, tokens);
    }
    advance(USAGE_TOTAL_TTL_MS);
    expect(await a.usageReport(party)).toMatch(/Agent main, today: 600 tokens/);
    expect(await b.usageReport(party)).toMatch(/Agent main, today: 600 tokens/);
  });

  it("a total past its time is not read again while no other connection has written", async () => {
    const { a, b, stores, advance } = twoGateways({ daily: 1000 });
    const [storeA, storeB] = stores as [SessionStore, SessionStore];
    const day = "d:2026-12-01";
    expect(await refusal(a)).toBeUndefined();
    expect(await refusal(b)).toBeUndefined();
    await spend(a, 100);
    // b read its totals before a's spend: past the time, the changed file makes it read them again.
    advance(USAGE_TOTAL_TTL_MS);
    expect(storeB.usage.cached?.("agent:main", day)).toBeUndefined();
    expect((await storeB.usage.total("agent:main", day)).tokens).toBe(100);
    // a wrote only its own spend (already in its cache): long past the time, its total needs no read.
    advance(10 * USAGE_TOTAL_TTL_MS);
    expect(storeA.usage.cached?.("agent:main", day)?.tokens).toBe(100);
    // Until the other connection writes: then the next look past the time reads the file.
    await spend(b, 50, "s2");
    advance(USAGE_TOTAL_TTL_MS);
    expect(storeA.usage.cached?.("agent:main", day)).toBeUndefined();
    expect((await storeA.usage.total("agent:main", day)).tokens).toBe(150);
    expect(await a.usageReport(party)).toMatch(/Agent main, today: 150 tokens/);
  });
});
