import type { AgentProfile } from "../agents.ts";
import { ApprovalBroker } from "../approvals.ts";
import type { GatewayConfig } from "../config/load.ts";
import { AgentError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { operateCommands } from "../operate/chat-commands.ts";
import { type Admission, Operations } from "../operate/operations.ts";
import { guardedSend } from "../operate/send-guard.ts";
import { newTurnId, TurnObserver } from "../operate/turn-observer.ts";
import type { Address, InboundMessage, OutboundMessage, PlatformAdapter } from "../platform.ts";
import { HookRunner, type Plugin } from "../plugins.ts";
import { createRouter, type Resolution, type Router } from "../routing/router.ts";
import type {
  AgentEvent,
  AgentRunner,
  AgentTurn,
  ChatMessage,
  CronService,
  DelegateRequest,
  Usage,
} from "../runner.ts";
import { useAgent } from "../scope.ts";
import { buildSessionKey } from "../sessions/key.ts";
import { type SessionSource, sourceOf } from "../sessions/source.ts";
import type {
  GetOrCreateResult,
  NewMessage,
  SessionRecord,
  SessionStore,
  StoredMessage,
} from "../sessions/store-types.ts";
import { publish } from "../telemetry/facts.ts";
import { type ApprovalRoute, answerFromChat, createApprover } from "./approval-flow.ts";
import { Channel } from "./channel.ts";
import { splitMessage } from "./chunk.ts";
import { parseCommand, runCommand } from "./commands.ts";
import { type DelegationDeps, delegateTurn, type TurnLineage } from "./delegation.ts";
import { publicErrorEvent } from "./disclosure.ts";
import { HttpRouter } from "./http.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import type { DeliveryTarget, DispatchOutcome, Gateway, TurnHandle, TurnRequest } from "./types.ts";

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
}

const DEDUPE_CAPACITY = 10_000;
/** After a shutdown aborts the turns still running, how long they get to end properly. */
const SHUTDOWN_GRACE_MS = 2000;

interface PendingMessage {
  inbound: InboundMessage;
  session: SessionRecord;
  /** The stored ids of this message, left out of the turn's history (it is the turn's input). */
  ids: number[];
  /** How its routing went, for the turn's trace. */
  routed: { startedAt: number; durationMs: number; by: string };
}

interface SessionLane {
  running: boolean;
  pending: PendingMessage[];
  controller: AbortController | undefined;
  /** Serializes programmatic turns (API) on the same session. */
  tail: Promise<void>;
  /** Programmatic turns chained on `tail` and not yet finished. */
  turns: number;
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

function adapterKey(platform: string, account: string): string {
  return `${platform}/${account}`;
}

/** Where the reply to a message goes: the same account, chat and thread, answering that message. */
function replyAddress(inbound: InboundMessage): Address {
  return {
    platform: inbound.platform,
    account: inbound.account,
    chatId: inbound.chat.id,
    chatType: inbound.chat.type,
    ...(inbound.threadId ? { threadId: inbound.threadId } : {}),
    replyToMessageId: inbound.messageId,
  };
}

function toChatMessages(rows: StoredMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const r of rows) {
    if (r.role === "user" || r.role === "assistant" || r.role === "system")
      out.push({ role: r.role, content: r.content });
  }
  return out;
}

/** Create the gateway dispatcher (DESIGN §6): everything shared between platforms lives here. */
/** Whether a user list (`allowed_users`, `admins`; ids may be written unquoted in YAML) names the sender. */
function listsUser(list: ReadonlyArray<string | number> | undefined, inbound: InboundMessage): boolean {
  return !!list?.some(
    (u) =>
      String(u) === inbound.user.id || (inbound.user.idAlt !== undefined && String(u) === inbound.user.idAlt),
  );
}

export function createGateway(options: CreateGatewayOptions): GatewayRuntime {
  let config = options.config;
  const { store, runner } = options;
  const logger = options.logger ?? silentLogger();
  const hooks = new HookRunner(options.plugins ?? [], logger);
  const http = new HttpRouter({ maxBodyBytes: () => config.api_server.webhook_max_body_bytes });
  const historyLimit = options.historyLimit ?? 50;
  const typingEvery = options.typingIntervalMs ?? 4000;
  const makeRouter = (c: GatewayConfig) => createRouter(c, { hooks, logger });
  let router: Router = makeRouter(config);
  let cron: CronService | undefined;
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
  const delegation: DelegationDeps = {
    registry: () => config.registry,
    maxDepth: () => config.delegation.max_depth,
    startTurn: (request, lineage) => turnWith(request, lineage),
    now: () => (options.now ? options.now().getTime() : Date.now()),
  };

  const adapters = new Map<string, PlatformAdapter>();
  const adapterAborts = new Map<string, AbortController>();
  const pendingStart: PlatformAdapter[] = [...(options.adapters ?? [])];
  for (const a of pendingStart) adapters.set(adapterKey(a.platform, a.account), a);
  const seen = new Map<string, true>();
  const lanes = new Map<string, SessionLane>();
  /** The abort controllers of every turn running now, platform or API, so a shutdown can end each with a reason. */
  const running = new Set<AbortController>();
  let active = 0;
  let idleWaiters: Array<() => void> = [];
  let stopping = false;
  const warnedPlatforms = new Set<string>();
  const ops =
    options.operations ??
    new Operations({
      config: () => config,
      store,
      logger,
      ...(options.now ? { now: () => options.now!().getTime() } : {}),
      notify: (t, text) =>
        sendText({ platform: t.platform, account: t.account, chatId: t.chatId }, text, { format: "plain" }),
    });

  const busy = () => {
    active++;
  };
  const done = () => {
    active--;
    if (active === 0) for (const w of idleWaiters.splice(0)) w();
  };

  function accountConfig(platform: string, account: string): Record<string, unknown> | undefined {
    return config.platformAccounts.get(platform)?.get(account) as Record<string, unknown> | undefined;
  }

  function authorized(inbound: InboundMessage): boolean {
    const cfg = accountConfig(inbound.platform, inbound.account);
    if (cfg?.allow_all_users === true) return true;
    const allowed = cfg?.allowed_users as Array<string | number> | undefined;
    if (listsUser(allowed, inbound)) return true;
    if (!allowed?.length && !warnedPlatforms.has(inbound.platform)) {
      warnedPlatforms.add(inbound.platform);
      logger.warn(
        { platform: inbound.platform, account: inbound.account },
        `no users are allowed on ${inbound.platform}: set platforms.${inbound.platform}.allowed_users or allow_all_users: true`,
      );
    }
    return false;
  }

  function isAdmin(inbound: InboundMessage): boolean {
    return listsUser(
      accountConfig(inbound.platform, inbound.account)?.admins as Array<string | number> | undefined,
      inbound,
    );
  }

  function requiresMention(inbound: InboundMessage): boolean {
    if (inbound.chat.type === "dm") return false;
    return accountConfig(inbound.platform, inbound.account)?.require_mention === true;
  }

  function isDuplicate(inbound: InboundMessage): boolean {
    const key = `${inbound.platform}\u0000${inbound.account}\u0000${inbound.chat.id}\u0000${inbound.messageId}`;
    if (seen.has(key)) return true;
    seen.set(key, true);
    if (seen.size > DEDUPE_CAPACITY) seen.delete(seen.keys().next().value!);
    return false;
  }

  function sessionOptions() {
    return { groupPerUser: config.session.group_per_user, threadPerUser: config.session.thread_per_user };
  }

  function adapterFor(platform: string, account: string): PlatformAdapter {
    const a = adapters.get(adapterKey(platform, account));
    if (!a) throw new Error(`no connected adapter for ${platform} account "${account}"`);
    return a;
  }

  /** Send a reply: split to the platform's limit, each chunk retried on 429/5xx. */
  async function sendText(
    address: Address,
    text: string,
    message: Omit<OutboundMessage, "text"> = {},
    /** `turnId` links the send to its turn's trace; `force` passes a paused breaker (an admin's `/platform` answer). */
    opts: { turnId?: string; force?: boolean } = {},
  ): Promise<void> {
    const adapter = adapterFor(address.platform, address.account);
    const caps = adapter.capabilities;
    const chunks = splitMessage(text, caps.maxMessageLength, caps.lengthUnit ?? "utf16");
    // Through the account's circuit breaker: repeated failures pause its sends instead of retrying each message.
    await guardedSend(
      ops,
      { platform: address.platform, account: address.account, ...opts },
      async (counted) => {
        for (let i = 0; i < chunks.length; i++) {
          const part = { index: i, count: chunks.length };
          await withRetry(() => adapter.send(address, { ...message, text: chunks[i]!, part }), {
            ...options.retry,
            onRetry: ({ attempt, delayMs, error }) => {
              counted();
              logger.warn(
                { platform: address.platform, account: address.account, attempt, delayMs, err: error },
                `send to ${address.platform} failed; retrying in ${Math.round(delayMs)} ms`,
              );
            },
          });
        }
      },
      logger,
    );
  }

  function startTyping(address: Address): () => void {
    const adapter = adapters.get(adapterKey(address.platform, address.account));
    if (!adapter?.typing || !adapter.capabilities.typing) return () => {};
    const fire = () => {
      adapter
        .typing?.(address)
        .catch((err: unknown) => logger.debug({ err, platform: address.platform }, "typing failed"));
    };
    fire();
    const timer = setInterval(fire, typingEvery);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  function lane(key: string): SessionLane {
    let l = lanes.get(key);
    if (!l) {
      l = { running: false, pending: [], controller: undefined, tail: Promise.resolve(), turns: 0 };
      lanes.set(key, l);
    }
    return l;
  }

  function getOrCreate(
    key: string,
    source: SessionSource,
    profile: AgentProfile,
    forceNew = false,
    append?: NewMessage[],
  ): Promise<GetOrCreateResult> {
    return store.getOrCreate(key, source, {
      reset: config.session.reset,
      forceNew,
      ...(append ? { append } : {}),
      model: profile.model.name ?? profile.model.provider,
      ...(options.now ? { now: options.now().getTime() } : {}),
    });
  }

  async function sessionHooks(
    r: GetOrCreateResult,
    key: string,
    source: SessionSource,
    profile: AgentProfile,
  ): Promise<void> {
    if (r.previous) {
      await hooks.emit("onSessionEnd", {
        agentId: profile.id,
        sessionId: r.previous.id,
        sessionKey: key,
        reason: r.reason ?? "reset",
        source,
      });
      await hooks.emit("onSessionReset", {
        agentId: profile.id,
        sessionId: r.session.id,
        previousSessionId: r.previous.id,
        sessionKey: key,
        source,
      });
    }
    if (r.created)
      await hooks.emit("onSessionStart", {
        agentId: profile.id,
        sessionId: r.session.id,
        sessionKey: key,
        source,
      });
  }

  async function openSession(
    key: string,
    source: SessionSource,
    profile: AgentProfile,
    opts: { forceNew?: boolean } = {},
  ): Promise<SessionRecord> {
    const r = await getOrCreate(key, source, profile, opts.forceNew ?? false);
    await sessionHooks(r, key, source, profile);
    return r.session;
  }

  /**
   * Run one turn of `profile` inside its scope, pushing events into a channel, persisting the
   * transcript. The runner is consumed inside `useAgent`, so its scope holds whoever iterates.
   */
  function runTurn(args: {
    profile: AgentProfile;
    session: SessionRecord;
    source: SessionSource;
    history: ChatMessage[];
    input: ChatMessage[];
    extraSystem?: string;
    controller: AbortController;
    /** Store the input messages first (false when they were stored on arrival). */
    persistInput: boolean;
    persistReply: boolean;
    /** Writes of the turn's input that go into the reply's commit, before the reply. */
    storeFirst?: { rewindAfter?: number; input: NewMessage[] };
    /** The caller's channel for the events, which the caller closes; default a new one, closed when the turn ends. */
    events?: Channel<AgentEvent>;
    /** Who answers this turn's approval prompts. */
    route: ApprovalRoute;
    /** Set for a delegated turn: the chain of agents above it. */
    lineage?: TurnLineage;
    /** Caller tools, generation options and plain mode of an API turn. */
    extra?: Pick<AgentTurn, "clientTools" | "generation" | "plain">;
    /** The budgets and limits it was admitted under; its usage is recorded against them. */
    admission: Admission;
    turnId?: string;
  }): {
    events: Channel<AgentEvent>;
    /** `explained`: the turn was aborted by the gateway (time limit, shutdown), with a message for the user. */
    finished: Promise<{ text: string; error?: string; usage?: Usage; explained?: boolean }>;
  } {
    const events = args.events ?? new Channel<AgentEvent>();
    const owned = args.events === undefined;
    const { profile, session, controller, admission } = args;
    const observer = new TurnObserver({
      turnId: args.turnId ?? newTurnId(),
      agentId: profile.id,
      platform: args.source.platform,
      sessionId: session.id,
      ...ops.modelOf(profile.id),
    });
    const finished = useAgent(profile, async () => {
      let text = "";
      let error: string | undefined;
      let usage: Usage | undefined;
      let toolCalls: Array<{ id: string; name: string; input: unknown }> | undefined;
      // The turn's last event is held back until the reply is committed: whoever answers a client on it
      // (the final JSON, `[DONE]`, a run's final event) answers only with a durable transcript.
      let terminal: AgentEvent | undefined;
      // The whole turn (every model call and tool) has one deadline; past it the turn is aborted.
      const deadline = setTimeout(() => {
        const seconds = profile.turnTimeoutMs / 1000;
        const why = `The agent took longer than ${seconds} s and was stopped (agents.${profile.id}.turn_timeout_s).`;
        controller.abort(new AgentError("turn_timeout", why));
      }, profile.turnTimeoutMs);
      deadline.unref?.();
      running.add(controller);
      try {
        if (args.persistInput) await store.append(session.id, storedInput(args.input));
        const approve = createApprover({
          broker: approvals,
          profile,
          sessionId: session.id,
          route: args.route,
          emit: (ev) => events.push(ev),
          signal: controller.signal,
          post: (address, text, actions) =>
            sendText(address, text, { format: "plain", ...(actions ? { actions } : {}) }),
          logger,
        });
        const chain = args.lineage?.chain ?? [profile.id];
        const delegate = (request: DelegateRequest) =>
          delegateTurn(delegation, { profile, sessionId: session.id, chain, approve }, request);
        const turn: AgentTurn = {
          ...args.extra,
          agent: profile,
          sessionId: session.id,
          sessionKey: session.sessionKey,
          source: args.source,
          history: args.history,
          input: args.input,
          signal: controller.signal,
          hooks,
          services: { store, ...(cron ? { cron } : {}), approve, delegate },
          ...(args.extraSystem ? { extraSystem: args.extraSystem } : {}),
          ...(options.now ? { now: options.now } : {}),
          ...(admission.spendLimit ? { spendLimit: admission.spendLimit } : {}),
        };
        for await (const ev of runner.run(turn)) {
          observer.event(ev);
          if (ev.type === "text-delta") text += ev.text;
          else if (ev.type === "finish") {
            text = ev.text || text;
            usage = ev.usage;
            if (ev.toolCalls?.length)
              toolCalls = ev.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input }));
          } else if (ev.type === "error") error = ev.message;
          if (ev.type === "finish" || ev.type === "error") {
            terminal = ev;
            break;
          }
          events.push(ev);
        }
        if (!terminal) {
          error = controller.signal.aborted ? "The turn was stopped." : "The agent ended without an answer.";
          terminal = {
            type: "error",
            message: error,
            code: controller.signal.aborted ? "aborted" : "no_finish",
          };
        }
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
        terminal = {
          type: "error",
          message: error,
          code: err instanceof AgentError ? err.code : "internal_error",
        };
      } finally {
        clearTimeout(deadline);
        running.delete(controller);
      }
      // Aborted by the gateway itself (the time limit, a shutdown): the reason is the user's answer.
      const reason: unknown = controller.signal.reason;
      const explained = controller.signal.aborted && reason instanceof AgentError;
      if (explained) {
        error = reason.message;
        terminal = { type: "error", message: error, code: reason.code };
      }
      if (terminal.type === "error") {
        terminal = publicErrorEvent(terminal);
        error = terminal.message;
        const stopped = terminal.code === "aborted";
        logger[stopped ? "info" : "warn"](
          {
            agent: profile.id,
            session: session.id,
            platform: args.source.platform,
            code: terminal.code,
            cause: terminal.detail ?? terminal.message,
          },
          stopped ? "turn stopped" : "turn failed",
        );
      }
      admission.release();
      let costUsd = 0;
      try {
        if (args.persistReply || usage || args.storeFirst) {
          // Usage is recorded in the same commit as the reply (also when the transcript is not kept).
          const reply = async () => {
            const first = args.storeFirst;
            const written =
              args.persistReply || first
                ? store.append(
                    session.id,
                    [
                      ...(first?.input ?? []),
                      ...(args.persistReply && (text || toolCalls) && !error
                        ? [{ role: "assistant" as const, content: text, ...(toolCalls ? { toolCalls } : {}) }]
                        : []),
                    ],
                    {
                      ...(usage && args.persistReply ? { usage } : {}),
                      ...(first?.rewindAfter !== undefined ? { rewindAfter: first.rewindAfter } : {}),
                    },
                  )
                : undefined;
            const recorded = usage ? ops.record(admission, usage, session.id) : undefined;
            // Both share one commit; either failing fails the reply (and neither rejection goes unheard).
            const [w, r] = await Promise.allSettled([written, recorded]);
            if (w.status === "rejected") throw w.reason;
            if (r.status === "rejected") throw r.reason;
            costUsd = r.value ?? 0;
          };
          try {
            await reply();
          } catch (err) {
            logger.error({ err, agent: profile.id, session: session.id }, "could not persist the reply");
            // An answer the store does not hold is not given as a success.
            if (!error) {
              error = "The reply could not be stored; it was not delivered. Try again.";
              terminal = { type: "error", message: error, code: "store_unavailable" };
            }
          }
        }
        events.push(terminal);
      } finally {
        if (owned) events.close();
      }
      observer.end({
        ...(usage ? { usage } : {}),
        costUsd,
        ...(error ? { error } : {}),
        aborted: controller.signal.aborted,
      });
      return {
        text,
        ...(error ? { error } : {}),
        ...(usage ? { usage } : {}),
        ...(explained ? { explained: true } : {}),
      };
    });
    return { events, finished };
  }

  /** Drain a platform session's lane: one turn at a time; messages that arrived meanwhile form the next turn. */
  async function pump(key: string, profile: AgentProfile, source: SessionSource): Promise<void> {
    const l = lane(key);
    if (l.running) return;
    l.running = true;
    busy();
    try {
      while (l.pending.length > 0) {
        const batch = l.pending.splice(0);
        publish("queue", { delta: -batch.length });
        const address = replyAddress(batch[batch.length - 1]!.inbound);
        const current = config.registry.get(profile.id) ?? profile;
        const session = batch[batch.length - 1]!.session;
        const inputIds = new Set(batch.flatMap((p) => p.ids));
        const stored = (await store.history(session.id, historyLimit + inputIds.size)).filter(
          (m) => !inputIds.has(m.id),
        );
        const history = toChatMessages(stored.slice(-historyLimit));
        const input: ChatMessage[] = [
          { role: "user", content: batch.map((m) => m.inbound.text).join("\n\n") },
        ];
        const controller = new AbortController();
        l.controller = controller;
        const stopTyping = startTyping(address);
        const log = logger.child({
          agent: current.id,
          platform: address.platform,
          account: address.account,
          session: session.id,
        });
        const turnId = newTurnId();
        const routed = batch[batch.length - 1]!.routed;
        publish("route", { turnId, agentId: current.id, ...routed });
        try {
          const admission = await admitOrNotify(current.id, source, address, {
            requests: false,
            enforceConcurrency: false,
          });
          if (!admission) continue;
          const { events, finished } = runTurn({
            profile: current,
            session,
            source,
            history,
            input,
            controller,
            persistInput: false,
            persistReply: true,
            route: {
              kind: "chat",
              address,
              requester: batch[batch.length - 1]!.inbound.user.id,
            },
            admission,
            turnId,
          });
          for await (const _ of events) {
            // The platform reply is sent whole at the end; streaming edits are a later refinement.
          }
          const result = await finished;
          stopTyping();
          if (controller.signal.aborted && !result.explained) continue;
          if (result.error) {
            await sendText(address, `⚠️ ${result.error}`, { format: "plain" }, { turnId });
          } else if (result.text.trim() && result.text.trim() !== "[SILENT]") {
            await sendText(address, result.text, { format: "markdown" }, { turnId });
          }
        } catch (err) {
          log.error({ err }, "could not deliver the reply");
        } finally {
          stopTyping();
          l.controller = undefined;
        }
      }
    } finally {
      l.running = false;
      if (l.pending.length === 0 && lanes.get(key) === l) lanes.delete(key);
      done();
    }
  }

  /** Admit a platform turn; a refusal is told to the chat once (not once per message) and yields `undefined`. */
  function admitOrNotify(
    agentId: string,
    source: SessionSource,
    address: Address,
    opts: { requests?: boolean; enforceConcurrency?: boolean } = {},
  ): Promise<Admission | undefined> {
    return ops.admitChat({ agentId, platform: source.platform, userId: source.userId }, opts, (text) =>
      sendText(address, text, { format: "plain" }),
    );
  }

  async function dispatch(inbound: InboundMessage): Promise<DispatchOutcome> {
    if (stopping) return { status: "ignored", reason: "stopping" };
    if (inbound.isSelf) return { status: "ignored", reason: "self" };
    if (isDuplicate(inbound)) return { status: "ignored", reason: "duplicate" };
    if (!inbound.text.trim() && !inbound.media?.length) return { status: "ignored", reason: "empty" };
    if (!authorized(inbound)) return { status: "ignored", reason: "unauthorized" };
    if (requiresMention(inbound) && !inbound.mentionsBot && !inbound.replyTo?.fromBot) {
      return { status: "ignored", reason: "not-mentioned" };
    }
    const source = sourceOf(inbound);
    const routeStarted = Date.now();
    const routeT0 = performance.now();
    const resolution = await router.resolve(source, inbound);
    const routed = { startedAt: routeStarted, durationMs: performance.now() - routeT0, by: resolution.by };
    source.agentId = resolution.agentId;
    const profile = config.registry.get(resolution.agentId) ?? config.registry.main;
    const sessionKey = buildSessionKey(source, sessionOptions());
    const address = replyAddress(inbound);

    const command = parseCommand(inbound.text);
    if (command) {
      busy();
      try {
        const reply = await runCommand(command, {
          profile,
          resolution,
          sessionKey,
          source,
          store,
          routes: config.routes,
          operate: operateCommands(ops, {
            agentId: profile.id,
            source,
            actor: `${inbound.platform}:${inbound.user.id}`,
            isAdmin: isAdmin(inbound),
          }),
          openSession: (opts) => openSession(sessionKey, source, profile, opts),
          answerApproval: (approved, args) =>
            answerFromChat({
              broker: approvals,
              inbound,
              isAdmin: isAdmin(inbound),
              approved,
              args,
            }),
          stop: () => {
            const l = lanes.get(sessionKey);
            if (!l?.controller) return false;
            l.pending.length = 0;
            l.controller.abort(new Error("stopped by /stop"));
            return true;
          },
        });
        if (reply !== undefined) {
          const force = command.name === "platform";
          await sendText(address, reply, { format: "markdown" }, { force }).catch((err: unknown) =>
            logger.error({ err, platform: inbound.platform }, "could not send the command reply"),
          );
          return { status: "command", agentId: profile.id, sessionKey, command: command.name };
        }
      } finally {
        done();
      }
    }

    // A used-up budget or a rate limit refuses the message before anything is stored (told once in chat).
    // A message joining a turn already queued or running counts against the rate, not a new turn slot.
    const admitted = await admitOrNotify(profile.id, source, address, {
      enforceConcurrency: !lanes.get(sessionKey)?.running,
    });
    if (!admitted) return { status: "ignored", reason: "limited" };
    admitted.release();

    // The session and the message are committed in one transaction before dispatch resolves, so an
    // adapter that confirms the platform update afterwards can never lose it.
    const opened = await getOrCreate(sessionKey, source, profile, false, [
      { role: "user", content: inbound.text },
    ]);
    const ids = opened.messageIds;
    await sessionHooks(opened, sessionKey, source, profile);
    const session = opened.session;
    const l = lane(sessionKey);
    l.pending.push({ inbound, session, ids, routed });
    publish("queue", { delta: 1 });
    void pump(sessionKey, profile, source);
    return { status: "queued", agentId: profile.id, sessionKey, sessionId: session.id, resolution };
  }

  function turn(request: TurnRequest): Promise<TurnHandle> {
    return turnWith(request);
  }

  async function turnWith(request: TurnRequest, lineage?: TurnLineage): Promise<TurnHandle> {
    if (stopping)
      throw new AgentError(
        "shutting_down",
        "The gateway is shutting down; send the request again in a moment.",
      );
    const profile = config.registry.get(request.agentId);
    if (!profile) throw new AgentError("model_not_found", `agent "${request.agentId}" does not exist`);
    const source: SessionSource = { ...request.source, agentId: profile.id };
    // Budgets and rate limits before anything is stored or the model is called (throws `TurnRefusedError`).
    const admission = await ops.admit({
      agentId: profile.id,
      platform: source.platform,
      userId: source.userId,
      keyId: request.key?.id,
      keyBudget: request.key?.budget,
    });
    const sessionKey = request.sessionKey ?? buildSessionKey(source, sessionOptions());
    const persist = request.persist ?? true;
    const persistInput = persist && request.persistInput !== false;

    // Take this turn's place on the session's lane before anything awaits, so turns keep their order.
    const l = lane(sessionKey);
    const previous = l.tail;
    // With nothing chained before it, the input can be stored in the same commit that opens the session.
    const inputFirst = l.turns === 0 && persistInput && request.sessionId !== undefined;
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    l.tail = mine;
    l.turns++;
    busy();
    const leave = () => {
      l.turns--;
      release();
      // Keep the lane only while work is chained on it.
      if (lanes.get(sessionKey) === l && !l.running && l.pending.length === 0 && l.tail === mine)
        lanes.delete(sessionKey);
      done();
    };

    let session: SessionRecord;
    /** The stored ids of the input when it was stored with the session; they are not history. */
    let inputIds: ReadonlySet<number> = new Set();
    try {
      if (request.sessionId !== undefined && !persist) {
        // Nothing of this turn is stored (a plain model, `store: false`): not even an empty session row.
        session =
          (await store.get(request.sessionId)) ??
          transientSession(request.sessionId, sessionKey, source, profile);
      } else if (request.sessionId !== undefined) {
        const sessionId = request.sessionId;
        // Session and input share one group commit with whatever else is being written right now.
        const ensured = await store.ensure(sessionId, sessionKey, source, {
          model: profile.model.name ?? profile.model.provider,
          ...(lineage ? { parentSessionId: lineage.parentSessionId } : {}),
          ...(inputFirst ? { append: storedInput(request.input) } : {}),
        });
        session = ensured.session;
        inputIds = new Set(ensured.messageIds);
      } else {
        const opened = await getOrCreate(sessionKey, source, profile);
        await sessionHooks(opened, sessionKey, source, profile);
        session = opened.session;
      }
    } catch (err) {
      admission.release();
      leave();
      throw err;
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) controller.abort(request.signal.reason);
    else request.signal?.addEventListener("abort", onAbort, { once: true });

    const out = new Channel<AgentEvent>();
    void (async () => {
      try {
        await previous;
        const edit = persist ? await request.prepare?.(session) : undefined;
        let storeFirst: { rewindAfter?: number; input: NewMessage[] } | undefined;
        if (edit && (edit.rewindAfter !== undefined || edit.input.length > 0)) {
          const write = {
            ...(edit.rewindAfter !== undefined ? { rewindAfter: edit.rewindAfter } : {}),
            input: storedInput(edit.input),
          };
          // With the history in the request nothing reads the stored transcript before the reply: the edit
          // joins the reply's commit (one commit a turn, not two). A crash before it loses only a turn whose
          // caller never got an answer.
          if (request.history) storeFirst = write;
          else await store.append(session.id, write.input, write);
        }
        const history =
          request.history ??
          toChatMessages(
            (await store.history(session.id, historyLimit + inputIds.size))
              .filter((m) => !inputIds.has(m.id))
              .slice(-historyLimit),
          );
        // The turn pushes straight into the handle's channel, closed below once the reply is stored.
        const { finished } = runTurn({
          profile,
          session,
          source,
          history,
          input: request.input,
          ...(request.extraSystem ? { extraSystem: request.extraSystem } : {}),
          controller,
          persistInput: persistInput && !inputFirst,
          persistReply: persist,
          ...(storeFirst ? { storeFirst } : {}),
          events: out,
          route: lineage
            ? { kind: "parent", approve: lineage.approve }
            : source.platform === "cron"
              ? { kind: "deny", by: "cron" }
              : request.approvals === "wait"
                ? { kind: "events" }
                : { kind: "deny", by: "unattended" },
          ...(lineage ? { lineage } : {}),
          extra: {
            ...(request.clientTools?.length ? { clientTools: request.clientTools } : {}),
            ...(request.generation ? { generation: request.generation } : {}),
            ...(request.plain ? { plain: true } : {}),
          },
          admission,
        });
        await finished;
      } catch (err) {
        admission.release();
        out.push({
          type: "error",
          message: err instanceof Error ? err.message : String(err),
          code: "internal_error",
        });
      } finally {
        out.close();
        request.signal?.removeEventListener("abort", onAbort);
        leave();
      }
    })();
    return {
      agentId: profile.id,
      sessionId: session.id,
      sessionKey,
      events: out,
      abort: (reason) => controller.abort(new Error(reason ?? "aborted")),
    };
  }

  async function startAdapter(adapter: PlatformAdapter): Promise<void> {
    const key = adapterKey(adapter.platform, adapter.account);
    const abort = new AbortController();
    adapterAborts.set(key, abort);
    const log = logger.child({ platform: adapter.platform, account: adapter.account });
    const starting = adapter.start({
      dispatch: async (inbound) => {
        // While stopping, refuse instead of accepting-and-dropping, so the adapter does not confirm
        // the platform update and it is delivered again after the restart.
        if (stopping) throw new Error("the gateway is stopping; the message was not accepted");
        try {
          const outcome = await dispatch(inbound);
          options.onDispatch?.(inbound, outcome);
        } catch (err) {
          log.error({ err }, "dispatch failed");
        }
      },
      logger: log,
      signal: abort.signal,
      http: http.scoped(key),
      reportStatus: (state, reason) => ops.setAdapterState(adapter.platform, adapter.account, state, reason),
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    });
    const started = await ops.watchStart(adapter.platform, adapter.account, starting);
    if (started && started.connected === false) {
      log.warn(
        { reason: started.reason },
        `${adapter.platform} account "${adapter.account}" is not connected yet: ${started.reason}`,
      );
    } else log.info(`${adapter.platform} account "${adapter.account}" connected`);
  }

  const gateway: GatewayRuntime = {
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
    turn,
    explain: (source) => router.resolve(source),
    async deliver(target: DeliveryTarget, text: string, opts: { agentId: string }) {
      await useAgent(config.registry.get(opts.agentId) ?? config.registry.main, () =>
        sendText(target, text, { format: "markdown" }),
      );
    },
    adapters: () => [...adapters.values()],
    idle() {
      if (active === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
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
    async addAdapter(adapter) {
      const key = adapterKey(adapter.platform, adapter.account);
      if (adapters.has(key) && !pendingStart.includes(adapter))
        throw new Error(`adapter ${key} is already connected`);
      adapters.set(key, adapter);
      await startAdapter(adapter);
    },
    async removeAdapter(platform, account) {
      const key = adapterKey(platform, account);
      const a = adapters.get(key);
      if (!a) return;
      adapterAborts.get(key)?.abort();
      http.unmount(key);
      adapters.delete(key);
      ops.setAdapterState(platform, account, "stopped");
      await a.stop();
    },
    async start() {
      for (const a of pendingStart.splice(0)) await startAdapter(a);
    },
    async stop(opts = {}) {
      stopping = true;
      // Nobody will answer a prompt during shutdown; waiting would hold the drain for the whole timeout.
      approvals.denyAll("the gateway is shutting down");
      // Stop receiving first (adapters watch their signal); replies of draining turns still go out.
      for (const a of adapterAborts.values()) a.abort();
      const timeoutMs = opts.timeoutMs ?? config.shutdown_timeout_s * 1000;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        gateway.idle().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) {
        logger.warn({ timeoutMs }, "shutdown timeout: aborting turns still running");
        const reason = new AgentError(
          "shutting_down",
          "The gateway is shutting down, so this reply was cut off; send the message again in a moment.",
        );
        for (const c of running) c.abort(reason);
        // Give the aborted turns a moment to store what they have and send their last event (the
        // error chunk and `[DONE]` of a stream), so no client is cut off without a word.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([
          gateway.idle(),
          new Promise<void>((r) => {
            grace = setTimeout(r, SHUTDOWN_GRACE_MS);
          }),
        ]);
        clearTimeout(grace);
      }
      for (const [key, a] of adapters) {
        adapterAborts.get(key)?.abort();
        try {
          await a.stop();
        } catch (err) {
          logger.error({ err, platform: a.platform, account: a.account }, "adapter stop failed");
        }
      }
      idleWaiters = [];
    },
  };
  return gateway;
}

/** A session record that exists only for the duration of an unstored turn. */
function transientSession(
  id: string,
  sessionKey: string,
  source: SessionSource,
  profile: AgentProfile,
): SessionRecord {
  const now = Date.now();
  return {
    id,
    sessionKey,
    agentId: profile.id,
    platform: source.platform,
    account: source.account ?? null,
    chatId: source.chatId ?? null,
    chatType: source.chatType ?? null,
    threadId: source.threadId ?? null,
    userId: source.userId ?? null,
    model: profile.model.name ?? profile.model.provider,
    startedAt: now,
    updatedAt: now,
    endedAt: null,
    endReason: null,
    messageCount: 0,
    inputTokens: 0,
    outputTokens: 0,
    title: null,
  };
}

/** Messages as the store keeps them: text, with images named, tool calls and results kept. */
export function storedInput(input: readonly ChatMessage[]): NewMessage[] {
  return input.map((m) => ({
    role: m.role,
    content: typeof m.content === "string" ? m.content : contentText(m.content),
    ...(m.toolCalls?.length ? { toolCalls: m.toolCalls } : {}),
    ...(m.toolCallId ? { toolCallId: m.toolCallId } : {}),
  }));
}

function contentText(parts: Exclude<ChatMessage["content"], string>): string {
  return parts
    .map((p) => (p.type === "text" ? p.text : `[image: ${p.url.startsWith("data:") ? "inline" : p.url}]`))
    .join("\n");
}
