import { AgentError } from "@switchboard/core";
import { z } from "zod";
import { type AgentTool, defineTool, ToolError } from "./types.ts";

export const DELEGATE_TOOLS: AgentTool[] = [
  defineTool({
    name: "delegate",
    description:
      "Hand a task to another agent and get its answer. The other agent works with its own tools, files and model and sees only `task`, so make the task self-contained. You may ask only the agents listed as your delegates.",
    inputSchema: z.object({
      agent: z.string().min(1).describe("The id of the agent to ask"),
      task: z.string().min(1).describe("What the agent should do, with everything it needs to know"),
    }),
    execute: async ({ agent, task }, ctx) => {
      const delegate = ctx.turn.services?.delegate;
      if (!delegate) throw new ToolError("delegation is not available in this gateway", "unavailable");
      try {
        const result = await delegate({ agentId: agent, task, signal: ctx.signal });
        if (result.error) throw new ToolError(`agent "${agent}" failed: ${result.error}`, "delegate_failed");
        return { agent: result.agentId, answer: result.text };
      } catch (err) {
        if (err instanceof ToolError) throw err;
        if (err instanceof AgentError) throw new ToolError(err.message, err.code, { cause: err });
        throw err;
      }
    },
  }),
];
