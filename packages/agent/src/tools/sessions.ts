import { z } from "zod";
import { type AgentTool, defineTool, ToolError } from "./types.ts";

const MAX_RESULTS = 50;

export const SESSIONS_TOOLS: AgentTool[] = [
  defineTool({
    name: "session_search",
    description: "Search your own past conversations (full-text) and get matching message excerpts.",
    inputSchema: z.object({
      query: z.string().min(1).describe("Words to search for"),
      limit: z.number().int().min(1).max(MAX_RESULTS).optional().describe("Maximum results (default 10)"),
    }),
    execute: async ({ query, limit }, ctx) => {
      const store = ctx.turn.services?.store;
      if (!store)
        throw new ToolError(
          "session search is not available: this gateway has no session store",
          "unavailable",
        );
      let hits: Awaited<ReturnType<typeof store.search>>;
      try {
        // The agent id is the scope: an agent never searches another agent's transcripts.
        hits = await store.search(query, { agentId: ctx.agent.id, limit: limit ?? 10 });
      } catch (err) {
        throw new ToolError(`the search query could not be run: ${(err as Error).message}`, "invalid_input", {
          cause: err,
        });
      }
      return {
        results: hits
          .filter((h) => h.agentId === ctx.agent.id)
          .map((h) => ({
            sessionId: h.sessionId,
            role: h.role,
            snippet: h.snippet,
            at: new Date(h.createdAt).toISOString(),
          })),
      };
    },
  }),
];
