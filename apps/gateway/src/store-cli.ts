import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type GatewayConfig, openSessionStore } from "@switchboard/core";
import type { Command } from "commander";
import type { CliHelpers } from "./cron-cli.ts";
import { acquireHomeLock } from "./home-lock.ts";
import { colors, printJson, table } from "./output.ts";
import { loadPostgresStore } from "./store-postgres.ts";

/** The database a copy goes to: `--url`, else the config's `store.url`, else `$DATABASE_URL`. */
export function targetUrl(cfg: GatewayConfig, flag: string | undefined, env = process.env): string {
  const url = flag ?? cfg.store.url ?? env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "no PostgreSQL database to copy to: pass --url postgres://user:pass@host:5432/db, or set store.url in config.yaml, or DATABASE_URL",
    );
  }
  return url;
}

/** `switchboard store migrate --from sqlite --to postgres`. */
export function registerStoreCommands(program: Command, h: CliHelpers): void {
  const store = program.command("store").description("move the session store between backends");
  store
    .command("migrate")
    .description(
      "copy <home>/state.db into PostgreSQL: resumable (a rerun continues where it stopped) and verified (row counts and checksums of both sides)",
    )
    .requiredOption("--from <kind>", "the store to copy from: sqlite")
    .requiredOption("--to <kind>", "the store to copy to: postgres")
    .option("--url <url>", "the PostgreSQL database (default: store.url of the config, else $DATABASE_URL)")
    .option("--batch <n>", "rows per transaction", "2000")
    .option("--json")
    .action(async (o: { from: string; to: string; url?: string; batch: string }, cmd: Command) => {
      const opts = h.globals(cmd);
      if (o.from !== "sqlite" || o.to !== "postgres")
        h.fail(
          new Error(`only --from sqlite --to postgres is supported (got --from ${o.from} --to ${o.to})`),
        );
      const batchSize = Number(o.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1)
        h.fail(new Error(`--batch must be a positive integer`));
      const cfg = await h.loadOrExit(opts);
      const file = resolve(cfg.home, "state.db");
      if (!existsSync(file)) h.fail(new Error(`nothing to copy: ${file} does not exist`));
      let url: string;
      try {
        url = targetUrl(cfg, o.url);
      } catch (err) {
        h.fail(err);
      }
      // A gateway still writing to state.db would add rows behind the copy's back.
      let lock: ReturnType<typeof acquireHomeLock>;
      try {
        lock = acquireHomeLock(cfg.home);
      } catch (err) {
        h.fail(err);
      }
      try {
        // Bring the file to the current schema first (what the gateway does when it opens it).
        await openSessionStore(file).close();
        const { copySqliteToPostgres, describeUrl } = await loadPostgresStore();
        const err = process.stderr;
        let shown = "";
        const report = await copySqliteToPostgres(file, url, {
          batchSize,
          onProgress: (p) => {
            const line = `${p.table}: ${p.copied}/${p.total}`;
            if (line !== shown) err.write(`copied ${line}\n`);
            shown = line;
          },
        });
        if (opts.json) printJson(report);
        else {
          const c = colors();
          process.stdout.write(
            `${table(
              ["TABLE", "SQLITE ROWS", "POSTGRES ROWS", "SQLITE CHECKSUM", "POSTGRES CHECKSUM", ""],
              report.tables.map((t) => [
                t.table,
                t.sqliteRows,
                t.postgresRows,
                t.sqliteChecksum,
                t.postgresChecksum,
                t.ok ? c.green("ok") : c.red("MISMATCH"),
              ]),
            )}\n`,
          );
          process.stdout.write(
            report.ok
              ? `${report.copied} rows copied this run; ${file} and ${describeUrl(url)} hold the same data. Set store: { kind: postgres, url: ... } in config.yaml to use it.\n`
              : `the two stores differ (see MISMATCH above): was a gateway writing to ${file} during an earlier run? Copy into a fresh database.\n`,
          );
        }
        if (!report.ok) process.exitCode = 1;
      } catch (err) {
        h.fail(err);
      } finally {
        lock.release();
      }
    });
}
