import { ApprovalBroker } from "../approvals.ts";
import type { GatewayConfig } from "../config/load.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { Operations } from "../operate/operations.ts";
import type { InboundMessage, PlatformAdapter } from "../platform.ts";
import { HookRunner, type Plugin } from "../plugins.ts";
import { createRouter, type Resolution, type Router } from "../routing/router.ts";
import type { AgentRunner, CronService } from "../runner.ts";
import { useAgent } from "../scope.ts";
import type { SessionSource } from "../sessions/source.ts";
import type { SessionRecord, SessionStore } from "../sessions/store-types.ts";
import { AdapterSet } from "./adapters.ts";
import { type ApiTurnDeps, startApiTurn } from "./api-turn.ts";
import type { DelegationDeps } from "./delegation.ts";
import { Delivery } from "./delivery.ts";
import { HttpRouter } from "./http.ts";
import { type DispatchDeps, dispatchInbound } from "./inbound/dispatch.ts";
import { InboundGate } from "./inbound/gate.ts";
import { pairingSender } from "./inbound/pairing.ts";
import { resolveInbound } from "./inbound/resolve.ts";
import { answerInbox, takeInbox } from "./inbox.ts";
import { Lanes } from "./lanes.ts";
import type { SessionOpenDeps } from "./open-session.ts";
import { drainOutbox, forwardSend } from "./outbox.ts";
import { type PlatformTurnDeps, runPlatformTurn } from "./platform-turn.ts";
import { type RecoverDeps, recoverStalled, sweepStalled } from "./recover.ts";
import type { Replica } from "./replicas.ts";
import type { RetryOptions } from "./retry.ts";
import { drainTurns } from "./shutdown.ts";
import { EditPacer } from "./stream/edit-pacer.ts";
import { STREAM_INITIAL_CHARS, STREAM_INITIAL_DELAY_MS, type StreamTiming } from "./stream/stream-reply.ts";
import type { TurnDeps } from "./turn.ts";
import type { DeliveryTarget, DispatchOutcome, Gateway } from "./types.ts";

export { storedInput } from "./turn.ts";

export interface CreateGatewayOptions {
  config: GatewayConfig;
  store: SessionStore;
  runner: AgentRunner;
  adapters?: PlatformAdapter[];
  plugins?: Plugin[];
  logger?: Logger;
  /** Backoff for sends (tests shorten it). */
  retry?: RetryOptions;
  /** How often the typing indicator is refreshed while a turn runs (default 4 s). */
  typingIntervalMs?: number;
  /** How many messages of history a platform turn loads (default 50). */
  historyLimit?: number;
  now?: () => Date;
  /** Where adapters keep small state files (e.g. Telegram's committed update offset). */
  stateDir?: string;
  /** Observe every dispatch and its outcome (tests, metrics). */
  onDispatch?: (inbound: InboundMessage, outcome: DispatchOutcome) => void;
  /** Budgets, rate limits, usage and adapter health (default: built over `store`). */
  operations?: Operations;
  /** When a streamed reply's first message goes out (default 800 ms and 40 characters after the first output). */
  streaming?: Partial<StreamTiming>;
  /**
   * This process's leases when several replicas share the store: platform accounts are received by one
   * replica at a time and a session's turns run one at a time across all of them.
   */
  replica?: Replica;
}

/** The full gateway: `Gateway` plus what the app and tests wire up. */
export interface GatewayRuntime extends Gateway {
  readonly http: HttpRouter;
  readonly logger: Logger;
  addAdapter(adapter: PlatformAdapter): Promise<void>;
  removeAdapter(platform: string, account: string): Promise<void>;
  /** Start every adapter given at creation. */
  start(): Promise<void>;
  /** Explain which agent serves a source and why. */
  explain(source: SessionSource): Promise<Resolution>;
}

/**
 * Create the gateway dispatcher (DESIGN §6): the stages of a message, composed. An inbound platform message
 * goes adapters → inbound/dispatch (inbound/gate, inbound/resolve, commands/) → lanes → platform-turn → turn →
 * delivery; a programmatic turn (API, cron, delegation) goes api-turn → lanes → turn.
 */
export function createGateway(options: CreateGatewayOptions): GatewayRuntime {
  let config = options.config;
  const { store, runner, replica } = options;
  const logger = options.logger ?? silentLogger();
  const hooks = new HookRunner(options.plugins ?? [], logger);
  const http = new HttpRouter({ maxBodyBytes: () => config.api_server.webhook_max_body_bytes });
  const historyLimit = options.historyLimit ?? 50;
  const makeRouter = (c: GatewayConfig) => createRouter(c, { hooks, logger });
  let router: Router = makeRouter(config);
  let cron: CronService | undefined;
  let stopping = false;
  const getConfig = () => config;
  const isStopping = () => stopping;
  // Every approval decision (chat `/approve` `/deny`, buttons, the API, timeouts) goes to the audit log.
  const approvals = new ApprovalBroker({
    onDecision: (a, d) =>
      ops.audit({
        actor: d.by,
        action: d.approved ? "approval.approve" : "approval.deny",
        target: `${a.agentId}/${a.toolName}`,
        detail: { approval_id: a.id, session_id: a.sessionId, ...(d.reason ? { reason: d.reason } : {}) },
      }),
  });
  const lanes = new Lanes();
  /** The abort controllers of every turn running now, platform or API, so a shutdown can end each with a reason. */
  const running = new Set<AbortController>();

  const ops =
    options.operations ??
    new Operations({
      config: getConfig,
      store,
      logger,
      ...(options.now ? { now: () => options.now!().getTime() } : {}),
      notify: (t, text) =>
        delivery.sendText({ platform: t.platform, account: t.account, chatId: t.chatId }, text, {
          format: "plain",
        }),
    });
  const adapters = new AdapterSet(options.adapters ?? [], {
    dispatch: (inbound) => dispatch(inbound),
    stopping: isStopping,
    onDispatch: options.onDispatch,
    logger,
    http,
    ops,
    stateDir: options.stateDir,
    state: options.replica ? store.adapterState : undefined,
    replica: options.replica,
    // Taking an account over: the turns its last holder had stored but not answered run here.
    onTakeover: (adapter) =>
      recoverStalled(recoverDeps, {
        stalledMs: 0,
        accounts: (p, a) => p === adapter.platform && a === adapter.account,
        // The dead holder's session leases expire by themselves: the turns wait for them.
        busy: async (s) => !!lanes.get(s.sessionKey),
      }).then(
        () => {},
        (err: unknown) => logger.error({ err }, "could not recover the unanswered messages"),
      ),
  });
  const delivery = new Delivery({
    adapter: (platform, account) => adapters.get(platform, account),
    ops,
    logger,
    retry: options.retry,
    typingIntervalMs: options.typingIntervalMs ?? 4000,
    // Replicas: a standby's sends to an account that sends only over its connection go to the holder.
    forward: replica ? forwardSend({ outbox: store.outbox, replica }) : undefined,
  });

  const sessions: SessionOpenDeps = { store, hooks, config: getConfig, now: options.now };
  const delegation: DelegationDeps = {
    registry: () => config.registry,
    maxDepth: () => config.delegation.max_depth,
    startTurn: (request, lineage) => startApiTurn(apiTurn, request, lineage),
    now: () => (options.now ? options.now().getTime() : Date.now()),
  };
  const turnDeps: TurnDeps = {
    store,
    ops,
    hooks,
    runner,
    approvals,
    logger,
    running,
    cron: () => cron,
    send: (address, text, message) => delivery.sendText(address, text, message),
    delegation,
    now: options.now,
  };
  const apiTurn: ApiTurnDeps = {
    turn: turnDeps,
    sessions,
    lanes,
    config: getConfig,
    stopping: isStopping,
    historyLimit,
    replica,
  };
  const platformTurn: PlatformTurnDeps = {
    turn: turnDeps,
    delivery,
    config: getConfig,
    historyLimit,
    lanes,
    stream: {
      adapter: (platform, account) => adapters.get(platform, account),
      ops,
      logger,
      pacer: new EditPacer(),
      retry: options.retry,
      timing: {
        initialDelayMs: options.streaming?.initialDelayMs ?? STREAM_INITIAL_DELAY_MS,
        initialChars: options.streaming?.initialChars ?? STREAM_INITIAL_CHARS,
      },
    },
  };
  const dispatchDeps: DispatchDeps = {
    stopping: isStopping,
    gate: new InboundGate({ accounts: () => config.platformAccounts, logger, approvals: store.pairing }),
    replicated: !!replica,
    pairing: {
      accounts: () => config.platformAccounts,
      store,
      send: pairingSender((address, text) => delivery.sendText(address, text, { format: "plain" }), logger),
      logger,
      fullWarnings: new Map(),
      ...(options.now ? { now: () => options.now!().getTime() } : {}),
    },
    router: () => router,
    config: getConfig,
    store,
    runner,
    sessions,
    lanes,
    ops,
    approvals,
    delivery,
    logger,
    drain: ({ sessionKey, profile, source }) =>
      void lanes.drain(
        sessionKey,
        (batch, lane) =>
          replica
            ? replica.withSession(sessionKey, async () => {
                // The session's inbox, in the order its messages reached the store, from every replica.
                const run = await takeInbox(store, batch);
                if (run.length === 0) return;
                await runPlatformTurn(platformTurn, run, lane, profile, source);
                // What a takeover after a crash, or the next turn on any replica, must not answer again.
                await answerInbox(store, run, lane).catch((err: unknown) =>
                  logger.warn({ err }, "could not record the answered messages"),
                );
              })
            : runPlatformTurn(platformTurn, batch, lane, profile, source),
        config.session.debounce_s * 1000,
      ),
  };
  const dispatch = (inbound: InboundMessage) => dispatchInbound(dispatchDeps, inbound);
  const recoverDeps: RecoverDeps = { store, logger, enqueue: (i, s, ids) => requeue(i, s, ids) };
  /** Queue messages of a session's inbox (left by a dead replica) as the next turn of their session. */
  const requeue = async (inbound: InboundMessage, session: SessionRecord, ids: number[]) => {
    const at = await resolveInbound(inbound, { router: () => router, config: getConfig });
    if (at.sessionKey !== session.sessionKey) return;
    lanes.enqueue(at.sessionKey, { inbound, session, ids, routed: at.routed, claimed: true });
    dispatchDeps.drain(at);
  };
  // Replicas: now and then, the session inboxes a dead replica left behind are run (see recover.ts).
  const stopSweep = replica
    ? sweepStalled(recoverDeps, {
        everyMs: replica.sweepMs,
        stalledMs: replica.stalledMs,
        busy: async (s) => !!lanes.get(s.sessionKey) || (await replica.sessionBusy(s.sessionKey)),
        stopping: isStopping,
      })
    : undefined;
  const stopOutbox = replica
    ? drainOutbox({
        outbox: store.outbox,
        replica,
        adapters: () => adapters.list(),
        send: (address, text, message) => delivery.sendText(address, text, message).then(() => undefined),
        logger,
        stopping: isStopping,
      })
    : undefined;

  const gateway: GatewayRuntime = {
    replica,
    get config() {
      return config;
    },
    store,
    get router() {
      return router;
    },
    hooks,
    runner,
    approvals,
    http,
    logger,
    ops,
    agent: (id) => config.registry.get(id),
    dispatch,
    turn: (request) => startApiTurn(apiTurn, request),
    explain: (source) => router.resolve(source),
    async deliver(target: DeliveryTarget, text: string, opts: { agentId: string }) {
      await useAgent(config.registry.get(opts.agentId) ?? config.registry.main, () =>
        delivery.sendText(target, text, { format: "markdown" }),
      );
    },
    adapters: () => adapters.list(),
    idle: () => lanes.idle(),
    reconfigure(next: GatewayConfig) {
      config = next;
      router = makeRouter(next);
    },
    setCron(service) {
      cron = service;
    },
    get cron() {
      return cron;
    },
    addAdapter: (adapter) => adapters.add(adapter),
    removeAdapter: (platform, account) => adapters.remove(platform, account),
    start: () => adapters.startPending(),
    async stop(opts = {}) {
      stopping = true;
      stopSweep?.();
      stopOutbox?.();
      // Nobody will answer a prompt during shutdown; waiting would hold the drain for the whole timeout.
      approvals.denyAll("the gateway is shutting down");
      // Stop receiving first (adapters watch their signal); replies of draining turns still go out.
      adapters.stopReceiving();
      // Another replica takes the accounts over now, not once the leases expire.
      await replica?.releaseAccounts();
      const timeoutMs = opts.timeoutMs ?? config.shutdown_timeout_s * 1000;
      await drainTurns({ lanes, running, logger, timeoutMs });
      await adapters.stopAll();
      await replica?.close();
      lanes.dropIdleWaiters();
    },
  };
  return gateway;
}
