import type { Hono } from "hono";
import { z } from "zod";
import type { ApiContext, ApiEnv } from "../context.ts";
import { fromZodError } from "../errors.ts";
import { jsonResponse } from "../http.ts";
import { forbidden } from "./admin.ts";
import { methods } from "./methods.ts";

const GROUPS = ["agent", "user", "key", "model", "session"] as const;

const querySchema = z.strictObject({
  agent: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** ISO date/time or epoch ms. */
  since: z
    .string()
    .refine(
      (s) => !Number.isNaN(/^\d+$/.test(s) ? Number(s) : Date.parse(s)),
      "must be an ISO date or epoch ms",
    )
    .optional(),
  group_by: z
    .string()
    .refine(
      (s) => s.split(",").every((g) => (GROUPS as readonly string[]).includes(g)),
      `must list ${GROUPS.join(", ")}`,
    )
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** `GET /v1/usage` for admin keys: spend grouped by agent, user and key (or `group_by`), filtered. */
export function registerUsageRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/usage", {
    GET: async (c) => {
      if (!c.get("principal").admin) throw forbidden("GET /v1/usage");
      const parsed = querySchema.safeParse(c.req.query());
      if (!parsed.success) throw fromZodError(parsed.error);
      const q = parsed.data;
      const pinned = c.get("pinned");
      const since = q.since ? (/^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since)) : undefined;
      const rows = await ctx.gateway.store.usage.summary({
        ...(pinned || q.agent ? { agentId: pinned?.id ?? q.agent } : {}),
        ...(q.user ? { userId: q.user } : {}),
        ...(q.key ? { keyId: q.key } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(q.group_by ? { groupBy: q.group_by.split(",") as Array<(typeof GROUPS)[number]> } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
      });
      return jsonResponse({
        object: "list",
        data: rows.map(({ inputTokens, outputTokens, cachedTokens, costUsd, ...groups }) => ({
          ...groups,
          input_tokens: inputTokens,
          output_tokens: outputTokens,
          cached_tokens: cachedTokens,
          cost_usd: costUsd,
        })),
      });
    },
  });
}
