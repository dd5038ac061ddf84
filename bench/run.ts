import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeTuning } from "../apps/gateway/bin/runtime-tuning.js";

/**
 * `pnpm bench [filter…]`: run every `bench/*.bench.ts` (or those whose name contains a filter) one after
 * another, each in its own Node process so one benchmark's heap and JIT state never colour the next.
 */
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const NODE_FLAGS = ["--conditions=@switchboard/source", "--expose-gc"];
/**
 * Every process of a benchmark (its gateways, children, stubs and baselines) runs with the memory settings
 * `switchboard run` gives the gateway (apps/gateway/bin/runtime-tuning.js), through NODE_OPTIONS so the
 * children a benchmark spawns get them too. SWITCHBOARD_RUNTIME_TUNING=off measures Node's defaults.
 */
const tuning = runtimeTuning(NODE_FLAGS, process.env);
const ENV = tuning
  ? {
      ...tuning.env,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, ...tuning.flags].filter(Boolean).join(" "),
    }
  : process.env;
if (tuning)
  console.log(
    `runtime as \`switchboard run\`: ${[...tuning.flags, tuning.env.GLIBC_TUNABLES && `GLIBC_TUNABLES=${tuning.env.GLIBC_TUNABLES}`].filter(Boolean).join(", ")} (SWITCHBOARD_RUNTIME_TUNING=off for Node's defaults)`,
  );

function run(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, file], {
      stdio: "inherit",
      cwd: join(BENCH_DIR, ".."),
      env: ENV,
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", () => resolve(1));
  });
}

const filters = process.argv.slice(2).filter((a) => a !== "--");
const files = readdirSync(BENCH_DIR)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(", ")}`);
  process.exit(2);
}

const failed: string[] = [];
const started = performance.now();
for (const f of files) {
  const code = await run(join(BENCH_DIR, f));
  if (code !== 0) failed.push(basename(f, ".bench.ts"));
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `\n${files.length} benchmark${files.length === 1 ? "" : "s"} in ${seconds} s${failed.length ? `; missed a target or failed: ${failed.join(", ")}` : "; every target met"}`,
);
process.exit(failed.length ? 1 : 0);
