import { userInfo } from "node:os";
import type { GatewayConfig, SessionStore, UsageQuery } from "@switchboard/core";
import type { Command } from "commander";
import { openConfiguredStore } from "./open-store.ts";
import { printJson, table } from "./output.ts";
import { withExistingStore } from "./sessions-cli.ts";

interface Deps<G> {
  loadOrExit(opts: G): Promise<GatewayConfig>;
  globals(cmd: Command): G;
  fail(err: unknown): never;
}

/** `--since 2026-12-01`, `--since 7d`, `--since 12h`, or epoch ms. */
export function parseSince(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const rel = /^(\d+)([mhdw])$/.exec(value);
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] as "m" | "h" | "d" | "w"];
    return now - Number(rel[1]) * unit;
  }
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(t))
    throw new Error(`--since ${value}: use an ISO date (2026-12-01), a duration (7d, 12h) or epoch ms`);
  return t;
}

async function withStore<T>(cfg: GatewayConfig, fn: (store: SessionStore) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(cfg);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Who ran a CLI edit, for the audit log. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}

/** Append one audit entry for a CLI edit (`agent add`, `agent remove`). */
export async function auditCli(
  cfg: GatewayConfig,
  action: string,
  target: string,
  detail?: unknown,
): Promise<void> {
  await withStore(cfg, (s) =>
    s.audit.append({ actor: cliActor(), action, target, ...(detail === undefined ? {} : { detail }) }),
  );
}

/** `switchboard usage` and `switchboard audit`. */
export function registerOperateCommands<G extends { json?: boolean }>(program: Command, deps: Deps<G>): void {
  program
    .command("usage")
    .description("tokens and cost by agent, user and API key (from state.db)")
    .option("--agent <id>")
    .option("--user <id>", "a platform user id or the API's user")
    .option("--key <id>", "an API key id (as /v1/usage reports it)")
    .option("--since <when>", "ISO date, 7d, 12h or epoch ms (default: all)")
    .option("--by <columns>", "group by: agent,user,key,model,session", "agent,user,key")
    .option("--json")
    .action(
      async (
        o: { agent?: string; user?: string; key?: string; since?: string; by: string },
        cmd: Command,
      ) => {
        const opts = deps.globals(cmd);
        const cfg = await deps.loadOrExit(opts);
        let query: UsageQuery;
        try {
          const groupBy = o.by.split(",").filter(Boolean) as NonNullable<UsageQuery["groupBy"]>;
          for (const g of groupBy)
            if (!["agent", "user", "key", "model", "session"].includes(g))
              throw new Error(`--by ${g}: use agent, user, key, model or session`);
          const since = parseSince(o.since);
          query = {
            groupBy,
            ...(o.agent ? { agentId: o.agent } : {}),
            ...(o.user ? { userId: o.user } : {}),
            ...(o.key ? { keyId: o.key } : {}),
            ...(since !== undefined ? { since } : {}),
          };
        } catch (err) {
          deps.fail(err);
        }
        const rows = await withExistingStore(cfg, deps.fail, (s) => s.usage.summary(query));
        if (opts.json) return printJson(rows);
        const groups = query.groupBy ?? [];
        process.stdout.write(
          `${table(
            [...groups.map((g) => g.toUpperCase()), "CALLS", "INPUT", "OUTPUT", "CACHED", "COST USD"],
            rows.map((r) => [
              ...groups.map((g) => (r[g] ?? "-") as string),
              r.calls,
              r.inputTokens,
              r.outputTokens,
              r.cachedTokens,
              r.costUsd.toFixed(4),
            ]),
          )}\n`,
        );
      },
    );

  program
    .command("audit")
    .description("the audit log: config reloads, CLI edits, admin commands, API key use")
    .option("--since <when>", "ISO date, 7d, 12h or epoch ms (default: all)")
    .option("--action <name>", "only this action, e.g. config.reload")
    .option("--limit <n>", "newest entries shown", "200")
    .option("--json")
    .action(async (o: { since?: string; action?: string; limit: string }, cmd: Command) => {
      const opts = deps.globals(cmd);
      const cfg = await deps.loadOrExit(opts);
      let since: number | undefined;
      try {
        since = parseSince(o.since);
      } catch (err) {
        deps.fail(err);
      }
      const rows = await withExistingStore(cfg, deps.fail, (s) =>
        s.audit.list({
          ...(since !== undefined ? { since } : {}),
          ...(o.action ? { action: o.action } : {}),
          limit: Number(o.limit),
        }),
      );
      if (opts.json) return printJson(rows);
      process.stdout.write(
        `${table(
          ["AT", "ACTOR", "ACTION", "TARGET", "DETAIL"],
          rows.map((r) => [
            new Date(r.at).toISOString(),
            r.actor,
            r.action,
            r.target ?? "",
            r.detail === null ? "" : JSON.stringify(r.detail),
          ]),
        )}\n`,
      );
    });
}
