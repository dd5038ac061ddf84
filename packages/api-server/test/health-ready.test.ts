import { sqliteDatabase } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, baseConfig, startWorld, USER_KEY, type World } from "./operate-world.ts";

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

interface Ready {
  status: string;
  store: { writable: boolean; latency_ms: number };
  adapters: Array<{ platform: string; account: string; state: string; reason?: string; retry_at?: string }>;
  cron: { enabled: boolean };
}

async function ready(w: World, key?: string): Promise<{ status: number; body: Ready }> {
  const res = await w.request("/health/ready", key ? { key } : {});
  return { status: res.status, body: (await res.json()) as Ready };
}

async function world(extra: Record<string, unknown> = {}): Promise<World> {
  const w = await startWorld((url) => baseConfig(url, extra));
  worlds.push(w);
  return w;
}

describe("/health/ready", () => {
  it("reports the adapter accounts, the store and cron, and follows a platform going down and coming back", async () => {
    const w = await world();
    const up = await ready(w);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: "ready",
      store: { writable: true },
      adapters: [{ platform: "test", account: "default", state: "connected" }],
    });
    expect(up.body.store.latency_ms).toBeGreaterThanOrEqual(0);

    w.adapter.report("reconnecting", "websocket closed (1006)");
    const down = await ready(w);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("unavailable");
    expect(down.body.adapters[0]).toMatchObject({ state: "reconnecting", reason: "websocket closed (1006)" });

    w.adapter.report("connected");
    const back = await ready(w);
    expect(back.status).toBe(200);
    expect(back.body.adapters[0]).toMatchObject({ state: "connected" });
    expect(back.body.adapters[0]!.reason).toBeUndefined();
    // `/health` stays cheap and public, status only.
    const health = (await (await w.request("/health")).json()) as Record<string, unknown>;
    expect(health.status).toBe("ok");
    expect(health.adapters).toBeUndefined();
  });

  it("answers 503 when the store cannot write", async () => {
    const w = await world();
    sqliteDatabase(w.store).exec(
      "CREATE TRIGGER no_kv BEFORE INSERT ON kv BEGIN SELECT RAISE(ABORT, 'disk is read-only'); END",
    );
    const r = await ready(w, ADMIN_KEY);
    expect(r.status).toBe(503);
    expect(r.body.store).toMatchObject({
      writable: false,
      error: expect.stringContaining("disk is read-only"),
    });
    sqliteDatabase(w.store).exec("DROP TRIGGER no_kv");
  });
});

describe("the circuit breaker per adapter account", () => {
  it("opens after repeated send failures, short-circuits sends, and closes after a good trial send", async () => {
    const w = await world({ circuit_breaker: { failures: 2, cooldown_s: 0.3, max_cooldown_s: 1 } });
    w.net.failNextSends(500, 2);
    for (const text of ["one", "two"]) {
      await w.net.inject({ chatId: "c1", chatType: "dm", userId: "u1", text, messageId: text });
      await w.gateway.idle();
    }
    const open = await ready(w);
    expect(open.status).toBe(503);
    expect(open.body.adapters[0]).toMatchObject({ state: "open", reason: "test platform answered 500" });
    expect(open.body.adapters[0]!.retry_at).toBeTruthy();

    // While open, a reply is not even tried: nothing reaches the platform, and no failure is injected to consume.
    await w.net.inject({ chatId: "c1", chatType: "dm", userId: "u1", text: "three", messageId: "three" });
    await w.gateway.idle();
    expect(w.net.sent()).toHaveLength(0);

    await new Promise((r) => setTimeout(r, 350));
    expect(await w.chat("u1", "four", "c1")).toBe("stub: four");
    const closed = await ready(w);
    expect(closed.status).toBe(200);
    expect(closed.body.adapters[0]).toMatchObject({ state: "connected" });
  });

  it("lets an admin pause and resume an account's sends with /platform; others may not", async () => {
    const w = await world();
    expect(await w.chat("someone", "/platform pause test")).toBe(
      "Only admins may use /platform (platforms.<name>.admins).",
    );
    expect(await w.chat("boss", "/platform pause test")).toBe("Paused sends of test/default.");
    expect((await ready(w)).body.adapters[0]).toMatchObject({
      state: "paused",
      reason: "paused by test:boss",
    });
    await w.net.inject({
      chatId: "dm-someone",
      chatType: "dm",
      userId: "someone",
      text: "hello?",
      messageId: "p1",
    });
    await w.gateway.idle();
    expect(w.net.sent().some((m) => m.text === "stub: hello?")).toBe(false);
    expect(await w.chat("boss", "/platform status")).toBe("test/default: paused (paused by test:boss)");
    expect(await w.chat("boss", "/platform resume test")).toBe("Resumed sends of test/default.");
    expect(await w.chat("someone", "back?")).toBe("stub: back?");
    const rows = (await w.store.audit.list({})).filter((r) => r.action.startsWith("platform."));
    expect(rows.map((r) => [r.actor, r.action, r.target])).toEqual([
      ["test:boss", "platform.pause", "test"],
      ["test:boss", "platform.resume", "test"],
    ]);
    expect((await w.request("/health/ready", { key: USER_KEY })).status).toBe(200);
  });
});
