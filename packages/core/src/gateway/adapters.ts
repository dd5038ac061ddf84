import type { Logger } from "../logger.ts";
import type { Operations } from "../operate/operations.ts";
import type { AdapterStateStore, InboundMessage, PlatformAdapter } from "../platform.ts";
import type { HttpRouter } from "./http.ts";
import { publishCommands } from "./native-commands.ts";
import { accountLease, type Replica } from "./replicas.ts";
import type { DispatchOutcome } from "./types.ts";

export interface AdapterDeps {
  /** Where every inbound message goes. */
  dispatch: (inbound: InboundMessage) => Promise<DispatchOutcome>;
  /** True once the gateway is shutting down: messages are refused so the platform delivers them again. */
  stopping: () => boolean;
  onDispatch?: ((inbound: InboundMessage, outcome: DispatchOutcome) => void) | undefined;
  logger: Logger;
  http: HttpRouter;
  ops: Operations;
  /** Where adapters keep small state files. */
  stateDir?: string | undefined;
  /** Shared adapter state (offsets), when replicas share a store. */
  state?: AdapterStateStore | undefined;
  /**
   * The replica's leases, when several share a store: an account that holds a connection (long polling, a
   * WebSocket) receives only while this replica holds its lease; webhook accounts receive everywhere.
   */
  replica?: Replica | undefined;
  /** Called when this replica takes a leased account over, before it starts receiving. */
  onTakeover?: ((adapter: PlatformAdapter) => Promise<void>) | undefined;
}

export function adapterKey(platform: string, account: string): string {
  return `${platform}/${account}`;
}

/** The platform connections: start, stop and live add/remove (reload) of each account's adapter. */
export class AdapterSet {
  readonly #adapters = new Map<string, PlatformAdapter>();
  readonly #aborts = new Map<string, AbortController>();
  /** Given at creation, started by `startPending`. */
  readonly #pending: PlatformAdapter[];
  readonly #deps: AdapterDeps;

  constructor(initial: readonly PlatformAdapter[], deps: AdapterDeps) {
    this.#deps = deps;
    this.#pending = [...initial];
    for (const a of this.#pending) this.#adapters.set(adapterKey(a.platform, a.account), a);
  }

  /** The connected adapter of an account, or `undefined`. */
  get(platform: string, account: string): PlatformAdapter | undefined {
    return this.#adapters.get(adapterKey(platform, account));
  }

  list(): PlatformAdapter[] {
    return [...this.#adapters.values()];
  }

  /** Start every adapter given at creation. */
  async startPending(): Promise<void> {
    for (const a of this.#pending.splice(0)) await this.#start(a);
  }

  /** Connect one more account (a reload that added it). */
  async add(adapter: PlatformAdapter): Promise<void> {
    const key = adapterKey(adapter.platform, adapter.account);
    if (this.#adapters.has(key) && !this.#pending.includes(adapter))
      throw new Error(`adapter ${key} is already connected`);
    this.#adapters.set(key, adapter);
    await this.#start(adapter);
  }

  /** Disconnect an account (a reload that removed it). */
  async remove(platform: string, account: string): Promise<void> {
    const key = adapterKey(platform, account);
    const a = this.#adapters.get(key);
    if (!a) return;
    this.#aborts.get(key)?.abort();
    this.#deps.http.unmount(key);
    this.#adapters.delete(key);
    this.#deps.ops.setAdapterState(platform, account, "stopped");
    await this.#deps.replica?.releaseAccount(accountLease(platform, account));
    await a.stop();
  }

  /** Stop receiving (adapters watch their signal); sends still work. */
  stopReceiving(): void {
    for (const a of this.#aborts.values()) a.abort();
  }

  /** Stop every adapter; a failing one is logged, the others still stop. */
  async stopAll(): Promise<void> {
    for (const [key, a] of this.#adapters) {
      this.#aborts.get(key)?.abort();
      try {
        await a.stop();
      } catch (err) {
        this.#deps.logger.error({ err, platform: a.platform, account: a.account }, "adapter stop failed");
      }
    }
  }

  async #start(adapter: PlatformAdapter): Promise<void> {
    const replica = this.#deps.replica;
    if (!replica || adapter.receives === "webhook") return this.#connect(adapter);
    const key = adapterKey(adapter.platform, adapter.account);
    const log = this.#deps.logger.child({ platform: adapter.platform, account: adapter.account });
    await replica.holdAccount(accountLease(adapter.platform, adapter.account), {
      acquired: async () => {
        if (this.#adapters.get(key) !== adapter) return;
        await this.#deps.onTakeover?.(adapter);
        await this.#connect(adapter);
      },
      lost: async () => {
        this.#aborts.get(key)?.abort();
        this.#deps.http.unmount(key);
        this.#deps.ops.setAdapterState(adapter.platform, adapter.account, "standby");
        await adapter.stop();
        log.warn(`${adapter.platform} account "${adapter.account}" is received by another replica now`);
      },
    });
    if (!replica.holds(accountLease(adapter.platform, adapter.account))) {
      this.#deps.ops.setAdapterState(adapter.platform, adapter.account, "standby");
      log.info(
        `${adapter.platform} account "${adapter.account}" is received by another replica; standing by`,
      );
    }
  }

  async #connect(adapter: PlatformAdapter): Promise<void> {
    const deps = this.#deps;
    const key = adapterKey(adapter.platform, adapter.account);
    const abort = new AbortController();
    this.#aborts.set(key, abort);
    const log = deps.logger.child({ platform: adapter.platform, account: adapter.account });
    const starting = adapter.start({
      dispatch: async (inbound) => {
        // While stopping, refuse instead of accepting-and-dropping, so the adapter does not confirm
        // the platform update and it is delivered again after the restart.
        if (deps.stopping()) throw new Error("the gateway is stopping; the message was not accepted");
        try {
          const outcome = await deps.dispatch(inbound);
          deps.onDispatch?.(inbound, outcome);
        } catch (err) {
          log.error({ err }, "dispatch failed");
        }
      },
      logger: log,
      signal: abort.signal,
      http: deps.http.scoped(key),
      reportStatus: (state, reason) =>
        deps.ops.setAdapterState(adapter.platform, adapter.account, state, reason),
      ...(deps.stateDir ? { stateDir: deps.stateDir } : {}),
      ...(deps.state ? { state: deps.state } : {}),
    });
    const started = await deps.ops.watchStart(adapter.platform, adapter.account, starting);
    if (started && started.connected === false) {
      log.warn(
        { reason: started.reason },
        `${adapter.platform} account "${adapter.account}" is not connected yet: ${started.reason}`,
      );
    } else log.info(`${adapter.platform} account "${adapter.account}" connected`);
    void publishCommands(adapter, log);
  }
}
