import { createLinearResolver, createRouter, type Resolution, type SessionSource } from "@switchboard/core";
import { randomRoutes, randomSources } from "../packages/core/test/helpers/random-routes.ts";
import { gc, loadPerCore, measure, median } from "./lib/stats.ts";
import { formatNumber, printTable, type Row } from "./lib/table.ts";

/**
 * Routing: resolutions per second of the compiled index against the linear scan, with 10 and 10,000
 * routes shaped like real configs (mostly platform + chat, some per user / guild / topic, a few broad).
 * Throughput is computed from this thread's CPU time (the wall-clock figure is in the note), so a busy
 * shared machine does not decide pass or fail.
 */
const REPS = 7;
const SOURCES = randomSources(20_000, 7);
/** The linear scan over 10,000 routes is slow by design; a slice of the sources keeps the run short. */
const LINEAR_SAMPLE = 2_000;

interface Throughput {
  cpu: number;
  wall: number;
}

async function throughput(
  reps: number,
  count: number,
  body: () => void | Promise<void>,
): Promise<Throughput> {
  await body(); // warm-up: JIT and caches
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc();
    const t = await measure(body);
    cpu.push(count / (t.cpuMs / 1000));
    wall.push(count / (t.wallMs / 1000));
  }
  return { cpu: median(cpu), wall: median(wall) };
}

let sink = 0;
const syncPasses =
  (resolve: (s: SessionSource) => Resolution, sources: readonly SessionSource[], passes: number) => () => {
    for (let p = 0; p < passes; p++)
      for (let i = 0; i < sources.length; i++) sink += resolve(sources[i]!).agentId.length;
  };
const asyncPasses =
  (resolve: (s: SessionSource) => Promise<Resolution>, sources: readonly SessionSource[], passes: number) =>
  async () => {
    for (let p = 0; p < passes; p++)
      for (let i = 0; i < sources.length; i++) sink += (await resolve(sources[i]!)).agentId.length;
  };
const wallNote = (t: Throughput, extra = "") => `wall ${formatNumber(t.wall)}/s${extra}`;

const rows: Row[] = [];
for (const n of [10, 10_000]) {
  const routes = randomRoutes(n, 11);
  const router = createRouter({ routes });
  const linear = createLinearResolver(routes);
  const scanSources = n > 100 ? SOURCES.slice(0, LINEAR_SAMPLE) : SOURCES;

  // The two must agree before their speeds mean anything.
  for (const s of scanSources) {
    const a = router.match(s);
    const b = linear(s);
    if (a.route !== b.route || a.agentId !== b.agentId)
      throw new Error(`index and scan disagree on ${JSON.stringify(s)}`);
  }
  const routed = SOURCES.filter((s) => router.match(s).by === "route").length;

  const resolve = await throughput(
    REPS,
    SOURCES.length * 3,
    asyncPasses((s) => router.resolve(s), SOURCES, 3),
  );
  const match = await throughput(REPS, SOURCES.length * 5, syncPasses(router.match, SOURCES, 5));
  const scanPasses = n > 100 ? 1 : 5;
  const scan = await throughput(
    n > 100 ? 3 : REPS,
    scanSources.length * scanPasses,
    syncPasses(linear, scanSources, scanPasses),
  );
  const big = n === 10_000;
  const label = n.toLocaleString("en-US");
  rows.push(
    {
      metric: `index resolve(), ${label} routes`,
      value: resolve.cpu,
      unit: "res/s",
      ...(big ? { target: { op: ">=", value: 1_000_000 } as const } : {}),
      note: wallNote(resolve, `; ${Math.round((routed / SOURCES.length) * 100)}% of sources hit a route`),
    },
    {
      metric: `index match() (sync), ${label} routes`,
      value: match.cpu,
      unit: "res/s",
      note: wallNote(match),
    },
    {
      metric: `linear scan, ${label} routes`,
      value: scan.cpu,
      unit: "res/s",
      note: wallNote(scan, "; the baseline"),
    },
    {
      metric: `index / scan, ${label} routes`,
      value: match.cpu / scan.cpu,
      unit: "x",
      ...(big ? { target: { op: ">=", value: 20 } as const } : {}),
      note: "match() vs scan, both synchronous",
    },
  );
}
if (sink === 0) throw new Error("nothing resolved");

const ok = printTable(
  `Routing: resolutions/s from CPU time, median of ${REPS} (${SOURCES.length.toLocaleString("en-US")} random sources; load/core ${loadPerCore()})`,
  rows,
);
process.exitCode = ok ? 0 : 1;
