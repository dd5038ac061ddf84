import type { GatewayConfig, SessionStore } from "@switchboard/core";
import type { Command } from "commander";
import type { CliHelpers } from "./cron-cli.ts";
import { missingStore, openConfiguredStore } from "./open-store.ts";
import { colors, printJson, table } from "./output.ts";

/** Open the home's store without creating one: a missing home or database is said so, a corrupt one is an error line. */
export async function withExistingStore<T>(
  cfg: GatewayConfig,
  fail: (err: unknown) => never,
  fn: (store: SessionStore) => Promise<T>,
): Promise<T> {
  const missing = missingStore(cfg);
  if (missing) fail(new Error(missing));
  let store: SessionStore;
  try {
    store = await openConfiguredStore(cfg);
  } catch (err) {
    fail(err);
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `switchboard sessions list|show|search`. */
export function registerSessionCommands(program: Command, h: CliHelpers): void {
  const sessions = program.command("sessions").description("browse stored sessions");
  const withStore = <T>(cfg: GatewayConfig, fn: (store: SessionStore) => Promise<T>): Promise<T> =>
    withExistingStore(cfg, h.fail, fn);
  sessions
    .command("list")
    .option("--agent <id>")
    .option("--limit <n>", "how many", "50")
    .option("--json")
    .action(async (o: { agent?: string; limit: string }, cmd: Command) => {
      const opts = h.globals(cmd);
      const cfg = await h.loadOrExit(opts);
      const rows = await withStore(cfg, (s) =>
        s.list({ ...(o.agent ? { agentId: o.agent } : {}), limit: Number(o.limit), includeEnded: true }),
      );
      if (opts.json) return printJson(rows);
      process.stdout.write(
        `${table(
          ["SESSION", "AGENT", "KEY", "MESSAGES", "UPDATED"],
          rows.map((r) => [
            r.id,
            r.agentId,
            r.sessionKey,
            r.messageCount,
            new Date(r.updatedAt).toISOString(),
          ]),
        )}\n`,
      );
    });
  sessions
    .command("show <id>")
    .option("--json")
    .action(async (id: string, _o, cmd: Command) => {
      const opts = h.globals(cmd);
      const cfg = await h.loadOrExit(opts);
      const out = await withStore(cfg, async (s) => ({
        session: await s.get(id),
        messages: await s.history(id, 1000),
      }));
      if (!out.session) h.fail(new Error(`no session "${id}"`));
      if (opts.json) return printJson(out);
      const c = colors();
      process.stdout.write(
        `${c.bold(out.session.id)} agent=${out.session.agentId} key=${out.session.sessionKey}\n`,
      );
      for (const m of out.messages) process.stdout.write(`${c.cyan(m.role.padEnd(9))} ${m.content}\n`);
    });
  sessions
    .command("search <text>")
    .option("--agent <id>")
    .option("--json")
    .action(async (text: string, o: { agent?: string }, cmd: Command) => {
      const opts = h.globals(cmd);
      const cfg = await h.loadOrExit(opts);
      const hits = await withStore(cfg, (s) =>
        s.search(text, { ...(o.agent ? { agentId: o.agent } : {}), limit: 50 }),
      );
      if (opts.json) return printJson(hits);
      process.stdout.write(
        `${table(
          ["SESSION", "AGENT", "ROLE", "MATCH"],
          hits.map((h) => [h.sessionId, h.agentId, h.role, h.snippet]),
        )}\n`,
      );
    });
}
