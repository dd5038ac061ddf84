import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../logger.ts";
import type { LeaseTable } from "../sessions/store-types.ts";

/**
 * How a gateway coordinates with the other replicas on its database. Given only when several processes share
 * one store (`store.kind: postgres`); a single process on SQLite has none and pays no round trip for it.
 */
export interface ReplicaOptions {
  /** This replica in leases and logs (default `<host>-<pid>-<random>`). */
  id?: string;
  /** The shared store's leases. */
  leases: LeaseTable;
  /** How long a lease lives without a heartbeat (default 10 s): the longest a dead replica's account waits. */
  leaseMs?: number;
  /** How often held leases are renewed (default a third of `leaseMs`). */
  heartbeatMs?: number;
  /** How often a standby replica tries to take an account over (default 2 s). */
  standbyPollMs?: number;
  /** How often a turn waiting for its session's lease asks again (default 50 ms). */
  sessionPollMs?: number;
  /** How often the replica looks for session inboxes a dead replica left behind (default `leaseMs`). */
  sweepMs?: number;
  /** How long a claimed message waits unanswered, with nobody running its session, before it counts as left (default 3 × `leaseMs`). */
  stalledMs?: number;
  logger: Logger;
}

/** The lease names replicas use: one per leased platform account, one per session while a turn runs. */
export const accountLease = (platform: string, account: string) => `account:${platform}/${account}`;
export const sessionLease = (sessionKey: string) => `session:${sessionKey}`;
/** A replica's presence, held while it executes API runs: its lapse tells the others that its runs are lost. */
export const replicaLease = (replicaId: string) => `replica:${replicaId}`;

export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** What a held account does when this replica gets or loses its lease. */
export interface AccountHold {
  /** The lease was taken: start receiving. */
  acquired(): Promise<void>;
  /** The lease was lost (another replica has it, or it could not be renewed in time): stop receiving. */
  lost(): Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * The leases one replica holds: platform accounts (a receiver per account across all replicas, heartbeats,
 * takeover by a standby) and sessions (one turn at a time per session across all replicas).
 */
export class Replica {
  readonly id: string;
  readonly #leases: LeaseTable;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #standbyMs: number;
  readonly #sessionPollMs: number;
  /** How often to look for inboxes left behind, and how old their messages must be (see `ReplicaOptions`). */
  readonly sweepMs: number;
  readonly stalledMs: number;
  readonly #logger: Logger;
  /** Held leases and when each was last renewed (local clock). */
  readonly #held = new Map<string, number>();
  readonly #accounts = new Map<string, { abort: AbortController; loop: Promise<void> }>();
  /** When this replica last released each session's lease (see `withSession`). */
  readonly #released = new Map<string, number>();
  #presence: { started: Promise<void>; timer?: NodeJS.Timeout } | undefined;
  #closed = false;

  constructor(options: ReplicaOptions) {
    this.id = options.id ?? defaultReplicaId();
    this.#leases = options.leases;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.#leaseMs / 3));
    this.#standbyMs = options.standbyPollMs ?? 2000;
    this.#sessionPollMs = options.sessionPollMs ?? 50;
    this.sweepMs = options.sweepMs ?? this.#leaseMs;
    this.stalledMs = options.stalledMs ?? this.#leaseMs * 3;
    this.#logger = options.logger;
  }

  /** How long a lease lives without a heartbeat: the longest a dead replica looks alive. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  /**
   * Hold this replica's presence lease (`replica:<id>`) from now until `close`, renewed every heartbeat: other
   * replicas tell by it whether the runs this one executes are still alive. Resolves once it is first held.
   */
  startPresence(): Promise<void> {
    if (this.#presence) return this.#presence.started;
    const name = replicaLease(this.id);
    const presence: { started: Promise<void>; timer?: NodeJS.Timeout } = {
      started: this.#tryAcquire(name).then(() => {
        if (this.#closed) return;
        presence.timer = setInterval(() => {
          // Lost or never taken (the store was unreachable): take it again; it names this replica alone.
          void this.#renew(name).then((ok) => (ok ? true : this.#tryAcquire(name)));
        }, this.#heartbeatMs);
        presence.timer.unref?.();
      }),
    };
    this.#presence = presence;
    return presence.started;
  }

  /** Whether the replica `replicaId` holds its presence lease (it is alive, by its last heartbeat). */
  async alive(replicaId: string): Promise<boolean> {
    if (replicaId === this.id) return !this.#closed;
    try {
      return (await this.#leases.holder(replicaLease(replicaId))) !== undefined;
    } catch (err) {
      this.#logger.warn(
        { err, replica: replicaId },
        "cannot reach the store to tell whether a replica is alive",
      );
      return true;
    }
  }

  /** The leases held now (names), for status and tests. */
  held(): string[] {
    return [...this.#held.keys()];
  }

  /**
   * Keep trying to hold `name` for an account until `releaseAccount`: while held, renew it every heartbeat;
   * when taken, call `hold.acquired`; when lost, `hold.lost` and back to standby. The first attempt is awaited,
   * so the replica that starts first receives at once.
   */
  async holdAccount(name: string, hold: AccountHold): Promise<void> {
    if (this.#accounts.has(name) || this.#closed) return;
    const abort = new AbortController();
    const first = await this.#tryAcquire(name);
    if (first) await this.#acquired(name, hold);
    const loop = this.#accountLoop(name, hold, first, abort.signal);
    this.#accounts.set(name, { abort, loop });
  }

  async #acquired(name: string, hold: AccountHold): Promise<void> {
    this.#logger.info({ lease: name, replica: this.id }, `${name}: this replica receives it`);
    try {
      await hold.acquired();
    } catch (err) {
      this.#logger.error({ err, lease: name }, `${name}: could not start receiving`);
    }
  }

  async #accountLoop(name: string, hold: AccountHold, held: boolean, signal: AbortSignal): Promise<void> {
    let holding = held;
    while (!signal.aborted) {
      await sleep(holding ? this.#heartbeatMs : this.#standbyMs, signal);
      if (signal.aborted) break;
      if (holding) {
        if (await this.#renew(name)) continue;
        holding = false;
        this.#logger.warn({ lease: name, replica: this.id }, `${name}: lease lost; stopping to receive`);
        await hold.lost().catch((err: unknown) => this.#logger.error({ err, lease: name }, "stop failed"));
      } else if (await this.#tryAcquire(name)) {
        holding = true;
        await this.#acquired(name, hold);
      }
    }
  }

  /** Stop holding an account: its loop ends and the lease is released at once (the next replica takes it). */
  async releaseAccount(name: string): Promise<void> {
    const a = this.#accounts.get(name);
    if (!a) return;
    this.#accounts.delete(name);
    a.abort.abort();
    await a.loop;
    await this.#release(name);
  }

  /** Whether this replica holds `name` (by its last successful renewal). */
  holds(name: string): boolean {
    const at = this.#held.get(name);
    return at !== undefined && Date.now() - at < this.#leaseMs;
  }

  /** Whether some replica runs a turn of the session now (holds its lease); true when the store cannot tell. */
  async sessionBusy(sessionKey: string): Promise<boolean> {
    try {
      return (await this.#leases.holder(sessionLease(sessionKey))) !== undefined;
    } catch {
      return true;
    }
  }

  /**
   * Run `fn` while holding the session's lease: waits (polling, bounded by the holder's lease) while another
   * replica runs a turn of the session, renews the lease while `fn` runs, releases it after.
   */
  async withSession<T>(sessionKey: string, fn: () => Promise<T>): Promise<T> {
    const name = sessionLease(sessionKey);
    // Just released here with another turn of the session waiting elsewhere, maybe: let that one (polling
    // every `sessionPollMs`) take it first, so turns run in the order their messages arrived.
    const released = this.#released.get(name);
    if (released !== undefined) {
      this.#released.delete(name);
      const since = Date.now() - released;
      if (since < this.#sessionPollMs * 3) await sleep(this.#sessionPollMs * 3 - since);
    }
    while (!(await this.#tryAcquire(name, false))) {
      if (this.#closed) throw new Error("the gateway is shutting down");
      await sleep(this.#sessionPollMs);
    }
    const timer = setInterval(() => void this.#renew(name), this.#heartbeatMs);
    timer.unref?.();
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      await this.#release(name);
      this.#released.set(name, Date.now());
      if (this.#released.size > 1000) this.#released.delete(this.#released.keys().next().value!);
    }
  }

  async #tryAcquire(name: string, oursCounts = true): Promise<boolean> {
    try {
      if (!(await this.#leases.acquire(name, this.id, this.#leaseMs))) {
        if (!oursCounts) return false;
        // An account lease ours already (a renewal raced): renewing it counts as holding it.
        const h = await this.#leases.holder(name);
        if (h?.holder !== this.id) return false;
        if (!(await this.#leases.renew(name, this.id, this.#leaseMs))) return false;
      }
      this.#held.set(name, Date.now());
      return true;
    } catch (err) {
      this.#logger.warn({ err, lease: name }, `${name}: cannot reach the store for its lease`);
      return false;
    }
  }

  /** Renew a held lease; true while it is still ours (a store error counts until the lease would expire). */
  async #renew(name: string): Promise<boolean> {
    try {
      if (await this.#leases.renew(name, this.id, this.#leaseMs)) {
        this.#held.set(name, Date.now());
        return true;
      }
      this.#held.delete(name);
      return false;
    } catch (err) {
      this.#logger.warn({ err, lease: name }, `${name}: cannot renew its lease`);
      return this.holds(name);
    }
  }

  async #release(name: string): Promise<void> {
    this.#held.delete(name);
    try {
      await this.#leases.release(name, this.id);
    } catch (err) {
      this.#logger.warn({ err, lease: name }, `${name}: cannot release its lease (it expires by itself)`);
    }
  }

  /** Stop holding every account and release their leases at once (SIGTERM: the takeover is immediate). */
  async releaseAccounts(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#accounts.keys()].map((name) => this.releaseAccount(name)));
  }

  /** Release every lease this replica still holds (the end of a shutdown, after the turns drained). */
  async close(): Promise<void> {
    await this.releaseAccounts();
    clearInterval(this.#presence?.timer);
    await this.#presence?.started;
    await Promise.all([...this.#held.keys()].map((n) => this.#release(n)));
  }
}
