import type { CronService } from "@switchboard/core";
import { z } from "zod";
import { type AgentTool, defineTool, type ToolContext, ToolError } from "./types.ts";

function cronService(ctx: ToolContext): CronService {
  const cron = ctx.turn.services?.cron;
  if (!cron)
    throw new ToolError(
      "scheduled jobs are not available: cron is disabled or not running in this gateway",
      "unavailable",
    );
  return cron;
}

/** Service errors (a bad schedule, a forbidden target) are the model's to fix, so they become tool errors. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ToolError((err as Error).message ?? String(err), "cron_error", { cause: err });
  }
}

export const CRON_TOOLS: AgentTool[] = [
  defineTool({
    name: "cron_create",
    description:
      "Schedule a job: at the schedule, you get `prompt` as a new turn and your reply is delivered. Schedules: `30m`, `2h`, `1d` (once, after a delay), `every 30m`, a cron expression (`0 9 * * 1-5`), or an ISO timestamp.",
    inputSchema: z.object({
      schedule: z.string().min(1),
      prompt: z.string().min(1).describe("What to do when the job runs"),
      name: z.string().min(1).optional(),
      deliver: z
        .string()
        .min(1)
        .optional()
        .describe(
          "`origin` (this chat, default), `local` (files only), or `<platform>[@account]:<chat_id>[:<thread_id>]`",
        ),
    }),
    execute: async ({ schedule, prompt, name, deliver }, ctx) => {
      const cron = cronService(ctx);
      const job = await call(() =>
        cron.create(ctx.agent.id, {
          schedule,
          prompt,
          ...(name ? { name } : {}),
          ...(deliver ? { deliver } : {}),
          origin: ctx.turn.source,
        }),
      );
      return { created: job };
    },
  }),
  defineTool({
    name: "cron_list",
    description: "List your scheduled jobs.",
    inputSchema: z.object({}),
    execute: async (_input, ctx) => {
      const cron = cronService(ctx);
      return { jobs: await call(() => cron.list(ctx.agent.id)) };
    },
  }),
  defineTool({
    name: "cron_remove",
    description: "Remove one of your scheduled jobs by id.",
    inputSchema: z.object({ job_id: z.string().min(1) }),
    execute: async ({ job_id }, ctx) => {
      const cron = cronService(ctx);
      const removed = await call(() => cron.remove(ctx.agent.id, job_id));
      if (!removed) throw new ToolError(`you have no job with id ${JSON.stringify(job_id)}`, "not_found");
      return { removed: job_id };
    },
  }),
];
