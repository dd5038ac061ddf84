import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { defaultRootHome } from "@switchboard/core";
import type { Command } from "commander";
import type { CliHelpers } from "../cron-cli.ts";
import { printJson } from "../output.ts";
import { formatPlan, planSummary } from "./format.ts";
import { type ImportPlan, planImport } from "./plan.ts";
import { readHermesHome } from "./read-home.ts";
import { type WriteResult, writePlan } from "./write.ts";

export type { ImportPlan } from "./plan.ts";

export interface ImportHermesOptions {
  /** The Hermes home; default `$HERMES_HOME`, else `~/.hermes`. */
  hermesHome?: string;
  /** The Switchboard home to write. */
  home: string;
  dryRun?: boolean;
  /** Write into a home that already has files (adding to its config). */
  merge?: boolean;
  now?: number;
}

export interface ImportHermesResult {
  plan: ImportPlan;
  /** The printed plan. */
  text: string;
  /** What was written; undefined on a dry run. */
  written?: WriteResult;
}

export class ImportRefusedError extends Error {
  override name = "ImportRefusedError";
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** Read a Hermes home, plan the import, and (unless `dryRun`) write it into a new Switchboard home. */
export async function importHermes(options: ImportHermesOptions): Promise<ImportHermesResult> {
  const hermesHome = resolve(options.hermesHome ?? process.env.HERMES_HOME ?? join(homedir(), ".hermes"));
  const home = resolve(options.home);
  if (home === hermesHome || home.startsWith(`${hermesHome}/`))
    throw new ImportRefusedError(
      `the Switchboard home ${home} is inside the Hermes home: choose another --home`,
    );
  const empty = isEmptyDir(home);
  if (!empty && !options.merge && !options.dryRun)
    throw new ImportRefusedError(
      `${home} is not empty: import into a new home (--home <dir>), or pass --merge to add to this one`,
    );
  const plan = planImport(await readHermesHome(hermesHome), home, options.now);
  let text = formatPlan(plan);
  if (options.dryRun) {
    if (!empty && !options.merge) text += `\nnote: ${home} is not empty: a real run needs --merge\n`;
    return { plan, text: `${text}\ndry run: nothing was written\n` };
  }
  const written = await writePlan(plan);
  text +=
    `\nwrote ${home}: ${written.sessions} sessions, ${written.messages} messages, ${written.jobs} cron jobs` +
    `${written.skipped ? ` (${written.skipped} sessions already there, kept)` : ""}\n` +
    `config check: ok\nnext: switchboard run --home ${home}\n`;
  return { plan, text, written };
}

/** `switchboard import hermes [HERMES_HOME] [--dry-run] [--merge]`. */
export function registerImportCommands(
  program: Command,
  helpers: Pick<CliHelpers, "globals" | "fail">,
): void {
  const imp = program.command("import").description("import another gateway's home into a Switchboard home");
  imp
    .command("hermes [hermes_home]")
    .description(
      "import a Hermes home (default ~/.hermes): profiles become agents, bot tokens accounts, profile_routes routes; sessions, cron jobs, SOUL, memories and skills come along",
    )
    .option("--home <dir>", "the Switchboard home to write (default $SWITCHBOARD_HOME or ~/.switchboard)")
    .option("--dry-run", "print the plan and write nothing")
    .option("--merge", "add to a Switchboard home that already has files")
    .option("--json", "print the plan (and what was written) as JSON")
    .action(
      async (hermesHome: string | undefined, o: { dryRun?: boolean; merge?: boolean }, cmd: Command) => {
        const opts = helpers.globals(cmd);
        try {
          const r = await importHermes({
            ...(hermesHome ? { hermesHome } : {}),
            home: opts.home ?? defaultRootHome(),
            ...(o.dryRun ? { dryRun: true } : {}),
            ...(o.merge ? { merge: true } : {}),
          });
          if (opts.json)
            printJson({ ...planSummary(r.plan), dry_run: Boolean(o.dryRun), written: r.written ?? null });
          else process.stdout.write(r.text);
        } catch (err) {
          helpers.fail(err);
        }
      },
    );
}
