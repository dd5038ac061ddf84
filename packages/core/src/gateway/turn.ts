import { type AgentProfile, profileForSession } from "../agents.ts";
import type { ApprovalBroker } from "../approvals.ts";
import { AgentError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { TurnMediaHandle } from "../media/turn-media.ts";
import type { Admission, Operations } from "../operate/operations.ts";
import { newTurnId, TurnObserver } from "../operate/turn-observer.ts";
import type { Address, OutboundMessage } from "../platform.ts";
import type { HookRunner } from "../plugins.ts";
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
import type { SessionSource } from "../sessions/source.ts";
import type {
  AppendCreate,
  NewMessage,
  SessionRecord,
  SessionStore,
  StoredMessage,
} from "../sessions/store-types.ts";
import { type ApprovalRoute, createApprover } from "./approval-flow.ts";
import { Channel } from "./channel.ts";
import { type DelegationDeps, delegateTurn, type TurnLineage } from "./delegation.ts";
import { publicErrorEvent } from "./disclosure.ts";

/** Writes of a turn's input that go into the reply's commit, before the reply (an API client's edit). */
export interface StoreFirst {
  /** Drop the stored messages after this id first (a regenerated or edited tail). */
  rewindAfter?: number;
  input: NewMessage[];
}

/** What running a turn needs from the gateway: passed in, never captured. */
export interface TurnDeps {
  store: SessionStore;
  ops: Operations;
  hooks: HookRunner;
  runner: AgentRunner;
  approvals: ApprovalBroker;
  logger: Logger;
  /** The abort controllers of every turn running now, so a shutdown can end each with a reason. */
  running: Set<AbortController>;
  /** The cron service, when cron runs (it is set after the gateway is built). */
  cron: () => CronService | undefined;
  /** Post to a chat (approval prompts). */
  send: (address: Address, text: string, message?: Omit<OutboundMessage, "text">) => Promise<void>;
  delegation: DelegationDeps;
  now?: (() => Date) | undefined;
}

/**
 * Run one turn of `profile` inside its scope, pushing events into a channel, persisting the
 * transcript. The runner is consumed inside `useAgent`, so its scope holds whoever iterates.
 */
export function runTurn(
  deps: TurnDeps,
  args: {
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
    storeFirst?: StoreFirst;
    /** The session is not stored yet: the reply's commit creates it (an API turn with its history in the body). */
    create?: AppendCreate;
    /** The caller's channel for the events, which the caller closes; default a new one, closed when the turn ends. */
    events?: Channel<AgentEvent>;
    /** Who answers this turn's approval prompts. */
    route: ApprovalRoute;
    /** Set for a delegated turn: the chain of agents above it. */
    lineage?: TurnLineage;
    /** Caller tools, generation options and plain mode of an API turn. */
    extra?: Pick<AgentTurn, "clientTools" | "generation" | "plain" | "stream">;
    /** The budgets and limits it was admitted under; its usage is recorded against them. */
    admission: Admission;
    turnId?: string;
    /** A chat turn's way to send files into its chat (the `media` toolset, images the reply links to). */
    media?: TurnMediaHandle;
    /** Messages to add to the running turn at its next model step (see `AgentTurn.steer`). */
    steer?: () => ChatMessage[];
  },
): {
  events: Channel<AgentEvent>;
  /** `explained`: the turn was aborted by the gateway (time limit, shutdown), with a message for the user. */
  finished: Promise<{ text: string; error?: string; usage?: Usage; explained?: boolean }>;
} {
  const { store, ops, hooks, runner, approvals, logger, running, delegation } = deps;
  const events = args.events ?? new Channel<AgentEvent>();
  const owned = args.events === undefined;
  const { session, controller, admission } = args;
  // `/model` may have switched this session to another of the agent's allowed models.
  const profile = profileForSession(args.profile, session);
  const observer = new TurnObserver({
    turnId: args.turnId ?? newTurnId(),
    agentId: profile.id,
    platform: args.source.platform,
    sessionId: session.id,
    provider: profile.provider.kind,
    model: profile.model.name ?? profile.provider.kind,
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
          deps.send(address, text, { format: "plain", ...(actions ? { actions } : {}) }),
        logger,
      });
      const chain = args.lineage?.chain ?? [profile.id];
      const delegate = (request: DelegateRequest) =>
        delegateTurn(delegation, { profile, sessionId: session.id, chain, approve }, request);
      const cron = deps.cron();
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
        services: {
          store,
          ...(cron ? { cron } : {}),
          approve,
          delegate,
          ...(args.media ? { media: args.media } : {}),
        },
        ...(args.extraSystem ? { extraSystem: args.extraSystem } : {}),
        ...(deps.now ? { now: deps.now } : {}),
        ...(admission.spendLimit ? { spendLimit: admission.spendLimit } : {}),
        ...(args.steer ? { steer: args.steer } : {}),
      };
      for await (const ev of runner.run(turn)) {
        observer.event(ev);
        if (ev.type === "text-delta") text += ev.text;
        else if (ev.type === "finish") {
          // A reply that was only images it attached ends with no text of its own.
          text = ev.text || (args.media?.pending.length ? "" : text);
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
                    ...(args.create ? { create: args.create } : {}),
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

/** The stored rows a model sees as history: user, assistant and system text. */
export function toChatMessages(rows: StoredMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const r of rows) {
    if (r.role === "user" || r.role === "assistant" || r.role === "system")
      out.push({ role: r.role, content: r.content });
  }
  return out;
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
