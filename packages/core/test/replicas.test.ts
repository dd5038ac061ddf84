import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { accountLease, Replica, replicaLease } from "../src/gateway/replicas.ts";
import { silentLogger } from "../src/logger.ts";
import { openSessionStore } from "../src/sessions/store.ts";
import type { SessionStore } from "../src/sessions/store-types.ts";

const dirs: string[] = [];
const stores: SessionStore[] = [];
const replicas: Replica[] = [];

/** Two processes' worth of leases on one SQLite file (a legal two-replica setup). */
function twoStores(): [SessionStore, SessionStore] {
  const dir = mkdtempSync(join(tmpdir(), "sb-replica-"));
  dirs.push(dir);
  const a = openSessionStore(join(dir, "state.db"));
  const b = openSessionStore(join(dir, "state.db"));
  stores.push(a, b);
  return [a, b];
}

function replica(store: SessionStore, id: string, leaseMs = 600): Replica {
  const r = new Replica({
    id,
    leases: store.leases,
    leaseMs,
    standbyPollMs: 100,
    sessionPollMs: 10,
    logger: silentLogger(),
  });
  replicas.push(r);
  return r;
}

afterEach(async () => {
  for (const r of replicas.splice(0)) await r.close();
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

describe("replica leases", () => {
  it("gives an account to one replica; a standby takes it over when the holder stops renewing, and gives it back on release", async () => {
    const [sa, sb] = twoStores();
    const a = replica(sa, "a");
    const b = replica(sb, "b");
    const events: string[] = [];
    const hold = (who: string) => ({
      acquired: async () => {
        events.push(`${who}+`);
      },
      lost: async () => {
        events.push(`${who}-`);
      },
    });
    const name = accountLease("telegram", "default");
    await a.holdAccount(name, hold("a"));
    await b.holdAccount(name, hold("b"));
    expect(events).toEqual(["a+"]);
    // Heartbeats keep it with a for several lease lifetimes.
    await sleep(1500);
    expect(events).toEqual(["a+"]);
    expect((await sa.leases.holder(name))?.holder).toBe("a");

    // a releases (SIGTERM): b takes it within its standby poll, well before a lease would expire.
    const released = Date.now();
    await a.releaseAccount(name);
    await until(() => events.includes("b+"), 2000);
    expect(Date.now() - released).toBeLessThan(600);
    expect(b.holds(name)).toBe(true);
  });

  it("takes over from a holder that died (stopped renewing) once its lease expires", async () => {
    const [sa, sb] = twoStores();
    const name = accountLease("discord", "default");
    // A holder that will never renew: the lease of a replica killed with kill -9.
    expect(await sa.leases.acquire(name, "dead", 400)).toBe(true);
    const b = replica(sb, "b");
    let acquiredAt = 0;
    const started = Date.now();
    await b.holdAccount(name, {
      acquired: async () => {
        acquiredAt = Date.now();
      },
      lost: async () => {},
    });
    expect(acquiredAt).toBe(0);
    await until(() => acquiredAt > 0, 3000);
    expect(acquiredAt - started).toBeGreaterThanOrEqual(350);
  });

  it("runs one turn of a session at a time across replicas, and the next one after it", async () => {
    const [sa, sb] = twoStores();
    const a = replica(sa, "a");
    const b = replica(sb, "b");
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const turn = (who: string, ms: number) => async () => {
      inside++;
      most = Math.max(most, inside);
      log.push(`${who} start`);
      await sleep(ms);
      log.push(`${who} end`);
      inside--;
    };
    const first = a.withSession("agent:main:slack:dm:D1", turn("a1", 150));
    await sleep(20);
    const second = b.withSession("agent:main:slack:dm:D1", turn("b1", 10));
    // Another session is not held up.
    await b.withSession("agent:main:slack:dm:D2", turn("b2", 10));
    await Promise.all([first, second]);
    expect(most).toBe(2); // a1 and b2 overlapped; a1 and b1 never did
    expect(log.indexOf("b1 start")).toBeGreaterThan(log.indexOf("a1 end"));
    expect(await sa.leases.holder("session:agent:main:slack:dm:D1")).toBeUndefined();
  });

  it("a replica's presence: alive to the others while it renews, gone at close or once its heartbeat stops", async () => {
    const [sa, sb] = twoStores();
    const a = replica(sa, "a", 400);
    const b = replica(sb, "b", 400);
    expect(await b.alive("a")).toBe(false);
    await a.startPresence();
    await a.startPresence(); // once
    expect(await b.alive("a")).toBe(true);
    // Held past several lease lifetimes by its heartbeat.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await b.alive("a")).toBe(true);
    await a.close();
    expect(await b.alive("a")).toBe(false);
    // One that stops renewing (killed) is gone once its lease expires.
    expect(await sa.leases.acquire(replicaLease("dead"), "dead", 300)).toBe(true);
    expect(await b.alive("dead")).toBe(true);
    const deadline = Date.now() + 2000;
    while (await b.alive("dead")) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(20);
    }
  });
});
