import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { serve } from "@hono/node-server";
import { createApiServer } from "@switchboard/api-server";
import { buildConfig, createGateway, Replica, silentLogger } from "@switchboard/core";
import { openPostgresStore } from "@switchboard/store-postgres";
import { createDatabase, createEchoRunner, startPostgres, type TestPostgres } from "@switchboard/testing";
import { runsClient } from "./lib/runs-client.ts";
import { loadPerCore, median, percentile } from "./lib/stats.ts";
import { printTable } from "./lib/table.ts";

/**
 * Runs across two replicas on one PostgreSQL database (a throwaway local server, or
 * `SWITCHBOARD_BENCH_PG_URL`): how much later a follower on replica B sees a run executing on replica A end
 * than A's own stream, woken by NOTIFY (`run_poll_ms` 250 as the fallback) and, as the baseline, by polling
 * alone (`run_poll_ms` 250 with the notifications ignored).
 */
const SAMPLES = 40;
const KEY = "sk-bench-runs-pg-0123456789";
const INPUT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");

const given = process.env.SWITCHBOARD_BENCH_PG_URL;
const server: TestPostgres | undefined = given ? undefined : await startPostgres();
const db = await createDatabase(given ?? server!.url);
const home = mkdtempSync(`${tmpdir()}/sb-bench-runs-pg-`);
const config = buildConfig(
  { agents: { main: {} }, api_server: { keys: [{ key: KEY, agents: "*" }] }, log_level: "silent" },
  { file: undefined, home, env: {}, platforms: {} },
);
const { followerDelays } = runsClient(KEY, INPUT);

async function replica(options: { notify: boolean }) {
  const store = await openPostgresStore(db.url, { pool: 4 });
  const replica = new Replica({ leases: store.leases, logger: silentLogger() });
  const gateway = createGateway({ config, store, runner: createEchoRunner(), replica });
  // Polling alone: the same store without its notifications.
  const runs = options.notify ? store.runs : { ...store.runs, listen: undefined };
  const api = createApiServer({ gateway, runs: { store: { runs, leases: store.leases } } });
  const http = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s as Server));
  });
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1`,
    async close() {
      api.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await gateway.stop({ timeoutMs: 1000 });
      await store.close();
    },
  };
}

let ok = false;
try {
  const a = await replica({ notify: true });
  const b = await replica({ notify: true });
  const polling = await replica({ notify: false });
  await followerDelays(a.url, b.url, 5);
  const notified = await followerDelays(a.url, b.url, SAMPLES);
  const polled = await followerDelays(a.url, polling.url, SAMPLES);
  ok = printTable(
    `runs across two replicas on PostgreSQL, ${SAMPLES} runs each, load/core ${loadPerCore()}`,
    [
      {
        metric: "follower delay, NOTIFY",
        value: median(notified),
        unit: "ms later",
        note: `p90 ${percentile(notified, 90).toFixed(1)} ms; than the executing replica's own stream`,
      },
      {
        metric: "follower delay, polling only",
        value: median(polled),
        unit: "ms later",
        note: `p90 ${percentile(polled, 90).toFixed(1)} ms; run_poll_ms 250 (baseline)`,
      },
    ],
  );
  for (const r of [a, b, polling]) await r.close();
} finally {
  await db.drop();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
