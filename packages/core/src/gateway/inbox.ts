import type { InboundMessage } from "../platform.ts";
import type { SessionStore, UnansweredInbound } from "../sessions/store-types.ts";
import type { PendingMessage, SessionLane } from "./lanes.ts";

/**
 * Replicas: what a session's turn runs is its durable inbox, not what happened to queue on this replica. Every
 * platform message is claimed into its session's inbox in the commit that stores it (`getOrCreate` with a
 * claim), so the inbox is in the order the messages reached the store, whichever replica received each. The
 * replica that takes the session's lease runs all of it, in that order, as one turn (as one process runs what
 * queued while it waited); a message another replica received and has not run yet is run here, and a message
 * already answered by another replica's turn is not run again. A replica that died with messages claimed is
 * thereby replaced by whoever runs the session next (or by `sweepStalled`).
 */
export async function takeInbox(store: SessionStore, batch: PendingMessage[]): Promise<PendingMessage[]> {
  const last = batch.at(-1)!;
  const session = last.session;
  const inbox = await store.inbound.unanswered(session.id);
  const waiting = new Set(inbox.map((m) => m.storedId));
  const have = new Set<number>();
  const kept: PendingMessage[] = [];
  for (const m of batch) {
    // Claimed into this session: run while still in its inbox (else another replica's turn answered it), once;
    // one that is only partly still there is left to the inbox's own entries below.
    if (m.claimed && m.session.id === session.id) {
      if (!m.ids.every((id) => waiting.has(id) && !have.has(id))) continue;
    }
    for (const id of m.ids) have.add(id);
    kept.push(m);
  }
  for (const m of inbox) {
    if (have.has(m.storedId)) continue;
    kept.push({
      inbound: storedInbound(m, last.inbound),
      session,
      ids: [m.storedId],
      routed: last.routed,
      claimed: true,
    });
  }
  return kept.sort((a, b) => firstId(a) - firstId(b));
}

/** Take the messages a finished turn answered out of the inbox (not those an interrupt gave back to the lane). */
export async function answerInbox(
  store: SessionStore,
  batch: PendingMessage[],
  lane: SessionLane,
): Promise<void> {
  const requeued = new Set(lane.pending);
  const bySession = new Map<string, number[]>();
  for (const m of batch) {
    if (requeued.has(m)) continue;
    const ids = bySession.get(m.session.id) ?? [];
    ids.push(...m.ids);
    bySession.set(m.session.id, ids);
  }
  for (const [sessionId, ids] of bySession) await store.inbound.answer(sessionId, ids);
}

/** A message of the inbox another replica received: what the store keeps of it, in the chat of `like`. */
function storedInbound(m: UnansweredInbound, like: InboundMessage): InboundMessage {
  // Its files are not stored (only their description in the text), nor who sent it in a group: the chat's
  // latest sender stands in.
  const { media: _media, replyTo: _replyTo, timestamp: _timestamp, ...rest } = like;
  return { ...rest, messageId: m.key.messageId, text: m.content };
}

function firstId(m: PendingMessage): number {
  return m.ids.length ? Math.min(...m.ids) : Number.POSITIVE_INFINITY;
}
