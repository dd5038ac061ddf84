import { type ChatMessage, type NewMessage, storedInput, type TranscriptEdit } from "@switchboard/core";
import type { ApiContext } from "./context.ts";

/** More than any client resends; a longer stored session is compared on its latest messages. */
const MAX_COMPARED = 10_000;

type Comparable = Pick<NewMessage, "role" | "content" | "toolCalls"> & { toolCallId?: string | null };

/** What identifies a message across a round trip through a client: role, text (whitespace aside), tool call ids. */
function fingerprint(m: Comparable): string {
  const calls = Array.isArray(m.toolCalls)
    ? (m.toolCalls as Array<{ id?: unknown }>).map((c) => String(c?.id ?? "")).join(",")
    : "";
  return `${m.role}\u0000${m.content.replace(/\s+/g, " ").trim()}\u0000${calls}\u0000${m.toolCallId ?? ""}`;
}

/**
 * Make the stored transcript agree with a request that carries the whole conversation (the body is the
 * truth): keep the longest common prefix, drop what the client no longer has (a regenerated answer, an
 * edited message and everything after it), and store what it does not have yet as the turn's input. A
 * retry of the same request therefore stores nothing twice. This reads; the gateway writes the edit.
 */
export async function reconcileTranscript(
  ctx: ApiContext,
  sessionId: string,
  conversation: readonly ChatMessage[],
): Promise<TranscriptEdit> {
  const stored = await ctx.gateway.store.history(sessionId, MAX_COMPARED);
  if (stored.length === 0) return { input: [...conversation] };
  const wanted = storedInput(conversation);
  let k = 0;
  while (k < stored.length && k < wanted.length && fingerprint(stored[k]!) === fingerprint(wanted[k]!)) k++;
  const input = conversation.slice(k);
  return k < stored.length ? { rewindAfter: k === 0 ? 0 : stored[k - 1]!.id, input } : { input };
}
