import type { ChatMessage } from "@switchboard/core";
import type { ApiContext } from "../context.ts";

/**
 * A stored session's conversation as chat messages (empty when the session does not exist yet): the user
 * and assistant text only, since a tool message without its call would be an invalid prompt.
 */
export async function storedHistory(ctx: ApiContext, sessionId: string): Promise<ChatMessage[]> {
  if (!(await ctx.gateway.store.get(sessionId))) return [];
  const out: ChatMessage[] = [];
  for (const m of await ctx.gateway.store.history(sessionId)) {
    if ((m.role === "user" || m.role === "assistant") && m.content)
      out.push({ role: m.role, content: m.content });
  }
  return out;
}
