// The memory settings `switchboard run` starts the gateway with. A Node process sizes its young generation
// from the machine's RAM (up to 2 x 64 MB of semi-spaces on a 24 GiB host) and keeps it at its high-water mark
// after a burst; glibc keeps the compiler's freed zone memory (tens of MB after the first thousand turns) in
// its heap instead of returning it. For a gateway that is most of its resident memory, so `switchboard run`
// caps the semi-spaces and lets glibc hand large blocks back to the OS. Settings of the operator's own win:
// a `--max-semi-space-size` (or `--max-heap-size`) in the flags or NODE_OPTIONS, an `mmap_threshold` in
// GLIBC_TUNABLES, or SWITCHBOARD_RUNTIME_TUNING=off. `pnpm bench` runs its processes with the same settings.

/** Set in the environment of a process that already runs tuned (so the launcher re-executes once). */
export const TUNED_MARK = "SWITCHBOARD_RUNTIME_TUNED";

const ORIGINAL_TUNABLES = "SWITCHBOARD_ORIGINAL_GLIBC_TUNABLES";

/**
 * In the tuned process: take the launcher's additions out of `env` again (glibc read its tunables at start),
 * so child processes inherit the operator's environment and a nested `switchboard run` tunes itself.
 *
 * @param {Record<string, string | undefined>} env
 */
export function restoreEnvironment(env) {
  if (env[TUNED_MARK] !== "1") return;
  delete env[TUNED_MARK];
  const original = env[ORIGINAL_TUNABLES];
  if (original === undefined) return;
  // Empty: there were none (an empty GLIBC_TUNABLES sets nothing either).
  if (original === "") delete env.GLIBC_TUNABLES;
  else env.GLIBC_TUNABLES = original;
  delete env[ORIGINAL_TUNABLES];
}

/** MB per semi-space: the young generation is at most twice this. */
export const SEMI_SPACE_MB = 8;

/** Blocks from this size up are mapped on their own and unmapped when freed. */
export const MMAP_THRESHOLD_BYTES = 8192;

/**
 * The flags to add and the environment to run with, or `undefined` when nothing is to change (already
 * tuned, turned off, or every setting chosen by the operator).
 *
 * @param {readonly string[]} execArgv the Node flags of this process
 * @param {Record<string, string | undefined>} env
 * @param {{ glibc?: boolean }} [options] `glibc`: whether the C library is glibc (default: detected)
 * @returns {{ flags: string[]; env: Record<string, string> } | undefined}
 */
export function runtimeTuning(execArgv, env, options = {}) {
  if (env[TUNED_MARK] === "1" || env.SWITCHBOARD_RUNTIME_TUNING === "off") return undefined;
  const nodeOptions = env.NODE_OPTIONS ?? "";
  const chosen = (flag) => execArgv.some((a) => a.startsWith(flag)) || nodeOptions.includes(flag);
  const flags = [];
  if (!chosen("--max-semi-space-size") && !chosen("--max-heap-size"))
    flags.push(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  const out = { ...env, [TUNED_MARK]: "1" };
  const glibc = options.glibc ?? isGlibc();
  const tunables = env.GLIBC_TUNABLES ?? "";
  let changed = flags.length > 0;
  if (glibc && !tunables.includes("glibc.malloc.mmap_threshold")) {
    const ours = `glibc.malloc.mmap_threshold=${MMAP_THRESHOLD_BYTES}`;
    out.GLIBC_TUNABLES = tunables ? `${tunables}:${ours}` : ours;
    // So the gateway can give the processes it starts (MCP servers, hooks) the environment it was given.
    out[ORIGINAL_TUNABLES] = env.GLIBC_TUNABLES ?? "";
    changed = true;
  }
  if (!changed) return undefined;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return { flags, env: /** @type {Record<string, string>} */ (out) };
}

function isGlibc() {
  if (process.platform !== "linux") return false;
  const report = /** @type {{ header?: { glibcVersionRuntime?: string } }} */ (process.report?.getReport?.());
  return typeof report?.header?.glibcVersionRuntime === "string";
}

/**
 * The command of a `switchboard` command line (`run`, `agents`, …): the first word that is not a global
 * option or the value of one.
 *
 * @param {readonly string[]} args the arguments after the script
 * @returns {string | undefined}
 */
export function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--home" || a === "--config") i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}
