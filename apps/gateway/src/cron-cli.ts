import { createAgentRunner } from "@switchboard/agent";
import {
  CronManager,
  CronScheduler,
  createGateway,
  createRouter,
  type GatewayConfig,
  setRootAgent,
} from "@switchboard/core";
import type { Command } from "commander";
import type { GlobalOptions } from "./cli.ts";
import { openConfiguredStore } from "./open-store.ts";
import { printJson, table } from "./output.ts";

export interface CliHelpers {
  loadOrExit(opts: GlobalOptions): Promise<GatewayConfig>;
  globals(cmd: Command): GlobalOptions;
  fail(err: unknown): never;
}

function managerFor(cfg: GatewayConfig): CronManager {
  const router = createRouter(cfg);
  return new CronManager({ config: () => cfg, router: () => router });
}

function when(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z");
}

/** `switchboard cron list|add|remove|pause|resume|run`. */
export function registerCronCommands(program: Command, h: CliHelpers): void {
  const cron = program.command("cron").description("scheduled turns of each agent");

  cron
    .command("list")
    .option("--agent <id>")
    .option("--json")
    .action(async (o: { agent?: string }, cmd: Command) => {
      const opts = h.globals(cmd);
      const cfg = await h.loadOrExit(opts);
      const { jobs, broken } = await managerFor(cfg).scan();
      const rows = jobs.filter((r) => !o.agent || r.agentId === o.agent);
      const problems = broken.filter((b) => !o.agent || b.agentId === o.agent);
      // A broken file is reported, never a stack trace; the other agents' jobs are still listed.
      for (const b of problems)
        process.stderr.write(
          `error: agent ${b.agentId}: ${b.error}\n  (its jobs are skipped until the file is fixed)\n`,
        );
      if (problems.length) process.exitCode = 1;
      if (opts.json) return printJson(rows.map((r) => ({ agent: r.agentId, ...r.job })));
      process.stdout.write(
        `${table(
          ["ID", "AGENT", "SCHEDULE", "NEXT", "LAST", "DELIVER", "ENABLED", "NAME"],
          rows.map(({ agentId, job }) => [
            job.id,
            agentId,
            job.schedule.input + (job.timezone ? ` (${job.timezone})` : ""),
            when(job.nextRunAt),
            job.lastStatus ?? "-",
            job.deliver,
            job.enabled ? "yes" : "no",
            job.name,
          ]),
        )}\n`,
      );
    });

  cron
    .command("add")
    .requiredOption("--agent <id>")
    .requiredOption("--schedule <s>", "30m | every 2h | '0 9 * * 1-5' | 2026-12-24T18:00:00Z")
    .requiredOption("--prompt <text>")
    .option("--deliver <target>", "origin | local | <platform>[@account]:<chat_id>[:<thread_id>]", "local")
    .option("--timezone <tz>", "IANA time zone for cron expressions")
    .option("--name <name>")
    .option("--repeat <n>", "stop after n runs")
    .option("--json")
    .action(
      async (
        o: {
          agent: string;
          schedule: string;
          prompt: string;
          deliver: string;
          timezone?: string;
          name?: string;
          repeat?: string;
        },
        cmd: Command,
      ) => {
        const opts = h.globals(cmd);
        const cfg = await h.loadOrExit(opts);
        try {
          const job = await managerFor(cfg).create(o.agent, {
            schedule: o.schedule,
            prompt: o.prompt,
            deliver: o.deliver,
            ...(o.timezone ? { timezone: o.timezone } : {}),
            ...(o.name ? { name: o.name } : {}),
            ...(o.repeat ? { repeat: Number(o.repeat) } : {}),
          });
          if (opts.json) return printJson({ agent: o.agent, ...job });
          process.stdout.write(`added cron job ${job.id} for ${o.agent}: next run ${when(job.nextRunAt)}\n`);
        } catch (err) {
          h.fail(err);
        }
      },
    );

  const byId = (verb: string, fn: (m: CronManager, agentId: string, id: string) => Promise<string>) =>
    cron.command(`${verb} <id>`).action(async (id: string, _o, cmd: Command) => {
      const cfg = await h.loadOrExit(h.globals(cmd));
      const m = managerFor(cfg);
      const found = await m.find(id);
      if (!found) h.fail(new Error(`no cron job "${id}": see switchboard cron list`));
      process.stdout.write(`${await fn(m, found.agentId, id)}\n`);
    });
  byId("remove", async (m, a, id) =>
    (await m.remove(a, id)) ? `removed ${id} (agent ${a})` : `no job ${id}`,
  );
  byId("pause", async (m, a, id) => {
    await m.setEnabled(a, id, false);
    return `paused ${id} (agent ${a})`;
  });
  byId("resume", async (m, a, id) => {
    const j = await m.setEnabled(a, id, true);
    return `resumed ${id} (agent ${a}): next run ${when(j?.nextRunAt ?? null)}`;
  });

  cron
    .command("run <id>")
    .description("run a job now and print its output (delivery to chats happens from a running gateway)")
    .action(async (id: string, _o, cmd: Command) => {
      const cfg = await h.loadOrExit(h.globals(cmd));
      const store = await openConfiguredStore(cfg);
      setRootAgent(cfg.registry.main);
      const gateway = createGateway({ config: cfg, store, runner: createAgentRunner() });
      const manager = new CronManager({ config: () => gateway.config, router: () => gateway.router });
      gateway.setCron(manager);
      try {
        const found = await manager.find(id);
        if (!found) h.fail(new Error(`no cron job "${id}": see switchboard cron list`));
        const scheduler = new CronScheduler({ gateway, manager, leases: store.leases });
        const r = await scheduler.runNow(found.agentId, id);
        process.stdout.write(`${r.error ? `error: ${r.error}` : r.text}\n`);
        if (r.outputFile) process.stderr.write(`saved ${r.outputFile}\n`);
        process.exitCode = r.status === "error" ? 1 : 0;
      } finally {
        await gateway.stop({ timeoutMs: 1000 });
        await store.close();
      }
    });
}
