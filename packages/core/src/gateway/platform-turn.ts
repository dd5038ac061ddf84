import type { AgentProfile } from "../agents.ts";
import type { GatewayConfig } from "../config/load.ts";
import { turnInputContent } from "../media/turn-input.ts";
import { newTurnId } from "../operate/turn-observer.ts";
import type { ChatMessage } from "../runner.ts";
import type { SessionSource } from "../sessions/source.ts";
import { publish } from "../telemetry/facts.ts";
import { type Delivery, replyAddress } from "./delivery.ts";
import type { Lanes, PendingMessage, SessionLane } from "./lanes.ts";
import { TurnInterrupted } from "./lanes.ts";
import type { StreamReply } from "./stream/stream-reply.ts";
import { openReplyStream, type ReplyStreamDeps } from "./stream/stream-settings.ts";
import { runTurn, type TurnDeps, toChatMessages } from "./turn.ts";

export interface PlatformTurnDeps {
  turn: TurnDeps;
  delivery: Delivery;
  /** The current config: a reload between messages runs the next turn on the new profile. */
  config: () => GatewayConfig;
  /** How many messages of history a platform turn loads. */
  historyLimit: number;
  /** Streaming the reply into the chat while the model writes it. */
  stream: ReplyStreamDeps;
  /** The lanes, for a steering turn to take what queued meanwhile. */
  lanes: Lanes;
}

/**
 * One turn of a platform chat: the messages queued on the lane since the last turn become one input, the
 * agent answers it (typing shown meanwhile), and the reply, or what went wrong, is sent to the last one.
 */
export async function runPlatformTurn(
  deps: PlatformTurnDeps,
  batch: PendingMessage[],
  l: SessionLane,
  profile: AgentProfile,
  source: SessionSource,
): Promise<void> {
  const { store, logger } = deps.turn;
  const { delivery, historyLimit } = deps;
  const address = replyAddress(batch[batch.length - 1]!.inbound);
  const current = deps.config().registry.get(profile.id) ?? profile;
  const session = batch[batch.length - 1]!.session;
  const inputIds = new Set(batch.flatMap((p) => p.ids));
  const stored = (await store.history(session.id, historyLimit + inputIds.size)).filter(
    (m) => !inputIds.has(m.id),
  );
  const history = toChatMessages(stored.slice(-historyLimit));
  const controller = new AbortController();
  l.controller = controller;
  const stopTyping = delivery.startTyping(address);
  const log = logger.child({
    agent: current.id,
    platform: address.platform,
    account: address.account,
    session: session.id,
  });
  const turnId = newTurnId();
  const media = delivery.mediaFor(address, { turnId });
  const routed = batch[batch.length - 1]!.routed;
  publish("route", { turnId, agentId: current.id, ...routed });
  let stream: StreamReply | undefined;
  try {
    const admission = await delivery.admitOrNotify(current.id, source, address, {
      requests: false,
      enforceConcurrency: false,
    });
    if (!admission) return;
    const config = deps.config();
    // The messages' files are fetched through the account (typing already shows) and become content parts.
    const prepared = await turnInputContent(
      batch.map((m) => m.inbound),
      {
        adapter: delivery.adapterOf(address),
        profile: current,
        config,
        signal: controller.signal,
        logger: log,
      },
    );
    const input: ChatMessage[] = [{ role: "user", content: prepared.content }];
    // The message was stored on arrival as "[voice note]": what it said is kept with the reply.
    const spoken = prepared.transcripts.length
      ? {
          storeFirst: {
            input: [
              {
                role: "user" as const,
                content: `(transcript of the voice note) ${prepared.transcripts.join("\n\n")}`,
              },
            ],
          },
        }
      : {};
    stream = openReplyStream(deps.stream, config, address, current, turnId);
    const steering = config.session.busy === "steer";
    const { events, finished } = runTurn(deps.turn, {
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
      ...spoken,
      ...(media ? { media } : {}),
      ...(steering ? { steer: () => steeredInput(deps.lanes, l, batch) } : {}),
      // Nothing edits a message as the reply grows: the model may answer whole (no event-stream parsing).
      ...(stream ? {} : { extra: { stream: false } }),
    });
    for await (const ev of events) stream?.event(ev);
    const result = await finished;
    stopTyping();
    if (controller.signal.aborted && !result.explained) {
      await stream?.abandon();
      // Interrupted by a newer message: this input runs again with it, as one turn.
      if (controller.signal.reason instanceof TurnInterrupted) deps.lanes.requeue(l, batch);
      return;
    }
    const reply: [string, "plain" | "markdown"] | undefined = result.error
      ? [`⚠️ ${result.error}`, "plain"]
      : result.text.trim() && result.text.trim() !== "[SILENT]"
        ? [result.text, "markdown"]
        : undefined;
    if (!reply) await stream?.abandon();
    else if (!(await stream?.finish(reply[0], reply[1])))
      await delivery.sendText(address, reply[0], { format: reply[1] }, { turnId });
    // Images the reply linked to follow its text.
    await media?.flush((file, err) =>
      log.warn({ err, file: file.name }, "could not upload a file of the reply"),
    );
  } catch (err) {
    log.error({ err }, "could not deliver the reply");
  } finally {
    // A turn that failed on the way still stops its stream's timers.
    await stream?.abandon().catch(() => undefined);
    stopTyping();
    l.controller = undefined;
  }
}

/** A steering turn takes what queued since it started; the messages join its batch (the reply answers them too). */
function steeredInput(lanes: Lanes, l: SessionLane, batch: PendingMessage[]): ChatMessage[] {
  const taken = lanes.takeSteered(l);
  batch.push(...taken);
  return taken.map((m) => ({ role: "user", content: m.inbound.text }));
}
