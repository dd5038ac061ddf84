import type { ApprovalBroker } from "../../approvals.ts";
import type { GatewayConfig } from "../../config/load.ts";
import type { Logger } from "../../logger.ts";
import { storedMessageText } from "../../media/turn-input.ts";
import { operateCommands } from "../../operate/chat-commands.ts";
import type { Operations } from "../../operate/operations.ts";
import type { InboundMessage } from "../../platform.ts";
import type { Router } from "../../routing/router.ts";
import type { AgentRunner } from "../../runner.ts";
import { DuplicateInboundError, type InboundKey, type SessionStore } from "../../sessions/store-types.ts";
import { answerFromChat } from "../approval-flow.ts";
import { type ParsedCommand, parseCommand, runCommand } from "../commands/registry.ts";
import type { Delivery } from "../delivery.ts";
import type { Lanes } from "../lanes.ts";
import { getOrCreate, openSession, type SessionOpenDeps, sessionHooks } from "../open-session.ts";
import type { DispatchOutcome } from "../types.ts";
import { summarize, switchAgent } from "./command-services.ts";
import type { InboundGate } from "./gate.ts";
import { answerStranger, type PairingStageDeps } from "./pairing.ts";
import { type ResolvedInbound, resolveInbound } from "./resolve.ts";

export interface DispatchDeps {
  /** True once the gateway is shutting down: messages are refused, not accepted and dropped. */
  stopping: () => boolean;
  gate: InboundGate;
  /** A stranger's DM on an account with `dm_policy: pairing` is answered with a pairing code. */
  pairing: PairingStageDeps;
  router: () => Router;
  config: () => GatewayConfig;
  store: SessionStore;
  /** The agent runner, for commands that call the model (`/compress`). */
  runner: AgentRunner;
  sessions: SessionOpenDeps;
  lanes: Lanes;
  ops: Operations;
  approvals: ApprovalBroker;
  delivery: Delivery;
  logger: Logger;
  /**
   * Replicas share the store: the dedupe is the store's unique row, claimed in the commit that stores the
   * message (one process keeps the gate's in-memory map only: no extra write).
   */
  replicated?: boolean;
  /** Start draining the session's lane (a no-op while it drains already). */
  drain: (at: ResolvedInbound) => void;
}

/**
 * Accept an inbound platform message: gate (a stranger's DM may get a pairing code) → resolve (agent, session key) → a chat command is answered at once;
 * otherwise admission, then the session and the message are stored, and the message queues on its lane.
 */
export async function dispatchInbound(deps: DispatchDeps, inbound: InboundMessage): Promise<DispatchOutcome> {
  if (deps.stopping()) return { status: "ignored", reason: "stopping" };
  const refused = await deps.gate.check(inbound);
  if (refused === "pairing") {
    await answerStranger(deps.pairing, inbound);
    return { status: "ignored", reason: "pairing" };
  }
  if (refused) return { status: "ignored", reason: refused };
  // Replicas behind a load balancer share one dedupe: a unique row per message, whichever replica got it,
  // written in the commit that stores the message (a crash in between can neither lose nor double it).
  const claim: InboundKey | undefined = deps.replicated
    ? {
        platform: inbound.platform,
        account: inbound.account,
        chatId: inbound.chat.id,
        messageId: inbound.messageId,
      }
    : undefined;
  const at = await resolveInbound(inbound, {
    router: deps.router,
    config: deps.config,
    overrides: deps.store.chatAgents,
  });
  const { profile, sessionKey, source, resolution, routed, address } = at;
  const { lanes } = deps;

  const command = parseCommand(inbound.text);
  if (command && claim && !(await deps.store.inbound.claim(claim)))
    return { status: "ignored", reason: "duplicate" };
  if (command) {
    lanes.busy();
    try {
      const answered = await answerCommand(deps, inbound, at, command);
      if (answered) return answered;
    } finally {
      lanes.done();
    }
  }

  // A used-up budget or a rate limit refuses the message before anything is stored (told once in chat).
  // A message joining a turn already queued or running counts against the rate, not a new turn slot.
  const admitted = await deps.delivery.admitOrNotify(profile.id, source, address, {
    enforceConcurrency: !lanes.running(sessionKey),
  });
  if (!admitted) return { status: "ignored", reason: "limited" };
  admitted.release();

  // The session and the message are committed in one transaction before dispatch resolves, so an
  // adapter that confirms the platform update afterwards can never lose it.
  let opened: Awaited<ReturnType<typeof getOrCreate>>;
  try {
    opened = await getOrCreate(
      deps.sessions,
      sessionKey,
      source,
      profile,
      false,
      [{ role: "user", content: storedMessageText(inbound) }],
      // A command was claimed above with no session: this claim puts it in the session's inbox.
      claim,
    );
  } catch (err) {
    if (err instanceof DuplicateInboundError) return { status: "ignored", reason: "duplicate" };
    throw err;
  }
  const ids = opened.messageIds;
  await sessionHooks(deps.sessions.hooks, opened, sessionKey, source, profile);
  const session = opened.session;
  // Claimed into the session's inbox with the message (replicas): the turn runs it only while still there.
  const claimed = !!claim;
  lanes.enqueue(
    sessionKey,
    { inbound, session, ids, routed, ...(claimed ? { claimed } : {}) },
    deps.config().session.busy,
  );
  deps.drain(at);
  return { status: "queued", agentId: profile.id, sessionKey, sessionId: session.id, resolution };
}

/** Answer a chat command in the chat; `undefined` when it has no answer and the message goes on to the agent. */
async function answerCommand(
  deps: DispatchDeps,
  inbound: InboundMessage,
  at: ResolvedInbound,
  command: ParsedCommand,
): Promise<DispatchOutcome | undefined> {
  const { profile, resolution, sessionKey, source, address } = at;
  const { ops, logger, lanes } = deps;
  const admin = () => deps.gate.isAdmin(inbound);
  const reply = await runCommand(command, {
    profile,
    resolution,
    sessionKey,
    source,
    store: deps.store,
    routes: deps.config().routes,
    actor: `${inbound.platform}:${inbound.user.id}`,
    operate: operateCommands(ops, {
      agentId: profile.id,
      source,
      actor: `${inbound.platform}:${inbound.user.id}`,
      isAdmin: admin(),
    }),
    openSession: (opts) => openSession(deps.sessions, sessionKey, source, profile, opts),
    answerApproval: (approved, args) =>
      answerFromChat({
        broker: deps.approvals,
        inbound,
        isAdmin: admin(),
        approved,
        args,
      }),
    stop: () => {
      // What is dropped from the lane is dropped from the session's inbox too (replicas), or it would run next.
      const dropped = deps.replicated ? (lanes.get(sessionKey)?.pending.slice() ?? []) : [];
      const stopped = lanes.stop(sessionKey, new Error("stopped by /stop"));
      for (const m of dropped)
        if (m.claimed)
          void deps.store.inbound
            .answer(m.session.id, m.ids)
            .catch((err: unknown) => logger.warn({ err }, "could not drop a stopped message from the inbox"));
      return stopped;
    },
    tier: () => deps.gate.tier(inbound),
    busy: () => lanes.running(sessionKey),
    rerun: (session, message) => {
      lanes.enqueue(sessionKey, {
        inbound: { ...inbound, text: message.content },
        session,
        ids: [message.id],
        routed: at.routed,
      });
      deps.drain(at);
    },
    summarize: (sessionId, transcript) => summarize(deps, profile, at, sessionId, transcript),
    tellDm: (chatId, text) =>
      deps.delivery.sendText(
        { platform: inbound.platform, account: inbound.account, chatId, chatType: "dm" },
        text,
        { format: "plain" },
      ),
    switchAgent: (id) => switchAgent(deps, at, id, `${inbound.platform}:${inbound.user.id}`),
  });
  if (reply === undefined) return undefined;
  const outcome = { status: "command", agentId: profile.id, sessionKey, command: command.name } as const;
  // An empty reply: the command answered with something else (`/retry` queued a turn).
  if (reply === "") return outcome;
  const force = command.name === "platform";
  await deps.delivery
    .sendText(address, reply, { format: "markdown" }, { force })
    .catch((err: unknown) =>
      logger.error({ err, platform: inbound.platform }, "could not send the command reply"),
    );
  return outcome;
}
