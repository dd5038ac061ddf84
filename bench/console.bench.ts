// The console must cost `switchboard run` nothing until /console is asked for: start-up time and resident
// memory of the gateway as `pnpm start` runs it, the committed HEAD against a commit without the console
// (both extracted with `git archive`, sharing this checkout's node_modules), alternating in one run; then
// what the first /console request loads.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./lib/stats.ts";
import { printTable, type Row } from "./lib/table.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const git = (...args: string[]) => execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8" }).trim();

const hasConsole = (ref: string): boolean => {
  try {
    git("cat-file", "-e", `${ref}:packages/console/package.json`);
    return true;
  } catch {
    return false;
  }
};

/**
 * The baseline commit: `BENCH_CONSOLE_BASE`, else where this branch left `main` when that has no console
 * yet (so only the console differs), else the commit just before the console package was added.
 */
function baselineRef(): string {
  if (process.env.BENCH_CONSOLE_BASE) return process.env.BENCH_CONSOLE_BASE;
  try {
    const base = git("merge-base", "HEAD", "main");
    if (!hasConsole(base)) return base;
  } catch {
    // no main branch here: fall through
  }
  const added = git("log", "--diff-filter=A", "--format=%H", "--", "packages/console/package.json")
    .split("\n")
    .filter(Boolean)
    .at(-1);
  if (!added) throw new Error("cannot find the commit that added packages/console in git history");
  return `${added}^`;
}

/** The tree of a commit, runnable from a temp dir. */
function baselineTree(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-base-"));
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive "${ref}" | tar -x -C "${dir}"`]);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // Each workspace package's node_modules holds relative links (to sibling packages and to the store):
  // copied as links, they point at the baseline's own packages and, through the root link, at the store.
  for (const group of ["packages", "apps"]) {
    for (const name of readdirSync(join(dir, group))) {
      const nm = join(ROOT, group, name, "node_modules");
      if (existsSync(nm))
        cpSync(nm, join(dir, group, name, "node_modules"), { recursive: true, verbatimSymlinks: true });
    }
  }
  return dir;
}
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 7);
const SETTLE_MS = 500;

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

/** User + system CPU time a process has used, ms (`/proc/<pid>/stat`, clock ticks of 10 ms). */
const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

interface Start {
  child: ChildProcess;
  url: string;
  ms: number;
  /** CPU time to listening: what start-up costs, much less coloured by other processes than wall time. */
  cpu: number;
}

/** Spawn the gateway and wait for its "listening on" line. */
function start(root: string, home: string): Promise<Start> {
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [join(root, "apps/gateway/bin/switchboard.js"), "run", "--home", home],
    {
      cwd: root,
      env: { ...process.env, SWITCHBOARD_LOG_LEVEL: "info", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no "listening on" in 20 s:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, ms: performance.now() - began, cpu: cpuMs(child.pid!) });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the gateway exited (${code}):\n${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.removeAllListeners("exit");
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-console-"));
  writeFileSync(join(dir, "config.yaml"), "api_server: { port: 0 }\n");
  return dir;
}

const baseRef = baselineRef();
// Both trees are extracted the same way, so only their contents differ (not their paths or file caches).
const base = baselineTree(baseRef);
const head = baselineTree("HEAD");
const roots = { off: base, on: head };
const homes = { off: home(), on: home() };
const startMs = { off: [] as number[], on: [] as number[] };
const startCpu = { off: [] as number[], on: [] as number[] };
const rss = { off: [] as number[], on: [] as number[], loaded: [] as number[] };
const firstPageMs: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    for (const variant of i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
      const s = await start(roots[variant], homes[variant]);
      startMs[variant].push(s.ms);
      startCpu[variant].push(s.cpu);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      rss[variant].push(rssMb(s.child.pid!));
      if (variant === "on") {
        const t = performance.now();
        const res = await fetch(`${s.url}/console/agents`);
        if (res.status !== 200) throw new Error(`/console/agents answered ${res.status}`);
        await res.text();
        firstPageMs.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        rss.loaded.push(rssMb(s.child.pid!));
      }
      await stop(s.child);
    }
  }
} finally {
  for (const h of [...Object.values(homes), base, head]) rmSync(h, { recursive: true, force: true });
}

const ratio = (a: number, b: number) => a / b;
const startRatio = ratio(median(startMs.on), median(startMs.off));
const rssRatio = ratio(median(rss.on), median(rss.off));
const rows: Row[] = [
  {
    metric: "start, before the console",
    value: median(startMs.off),
    unit: "ms",
    note: `median of ${RUNS}, spawn → listening; baseline ${baseRef.slice(0, 12)}`,
  },
  { metric: "start, with the console", value: median(startMs.on), unit: "ms" },
  { metric: "start ratio (with / before)", value: startRatio, unit: "×", target: { op: "<=", value: 1.05 } },
  {
    metric: "start CPU time, before the console",
    value: median(startCpu.off),
    unit: "ms",
    note: "user + system CPU to listening",
  },
  { metric: "start CPU time, with the console", value: median(startCpu.on), unit: "ms" },
  {
    metric: "start CPU ratio (with / before)",
    value: median(startCpu.on) / median(startCpu.off),
    unit: "×",
    target: { op: "<=", value: 1.05 },
  },
  {
    metric: "rss after start, before the console",
    value: median(rss.off),
    unit: "MB",
    note: `${SETTLE_MS} ms after listening`,
  },
  { metric: "rss after start, with the console", value: median(rss.on), unit: "MB" },
  { metric: "rss ratio (with / before)", value: rssRatio, unit: "×", target: { op: "<=", value: 1.05 } },
  { metric: "first /console page (loads the console)", value: median(firstPageMs), unit: "ms" },
  { metric: "rss after the first console page", value: median(rss.loaded), unit: "MB" },
];
if (process.env.BENCH_CONSOLE_RAW === "1")
  console.log(JSON.stringify({ startMs, startCpu, rss, firstPageMs }));
const ok = printTable("console: start-up cost of `switchboard run` (pnpm start)", rows);
process.exit(ok ? 0 : 1);
