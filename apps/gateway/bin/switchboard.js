#!/usr/bin/env node
// The `switchboard` command. A published install runs the built `dist/cli.js`; in the workspace (where
// `src/` is present) it runs the TypeScript source, resolving workspace packages to their source too, so
// no build is needed. Either way this process *is* the gateway: no package manager sits in between to
// swallow the signals of Docker, systemd, pm2 or `kill`.
import { existsSync } from "node:fs";
import module from "node:module";
import { commandOf, restoreEnvironment, runtimeTuning } from "./runtime-tuning.js";

// The gateway runs with a capped young generation and glibc returning large freed blocks (see
// runtime-tuning.js): Node reads both at start, so `run` re-executes itself once with them. `execve` keeps
// the process id, so signals, `kill`, pid files and parent watches see one process, as before.
if (commandOf(process.argv.slice(2)) === "run" && typeof process.execve === "function") {
  const tuned = runtimeTuning(process.execArgv, process.env);
  if (tuned) {
    try {
      process.execve(
        process.execPath,
        [process.execPath, ...process.execArgv, ...tuned.flags, ...process.argv.slice(1)],
        tuned.env,
      );
    } catch (err) {
      // A sandbox that forbids exec: run on Node's defaults rather than not at all.
      process.stderr.write(`switchboard: running without the memory settings (${err?.message ?? err})\n`);
    }
  }
}
restoreEnvironment(process.env);

const source = new URL("../src/cli.ts", import.meta.url);
const dist = new URL("../dist/cli.js", import.meta.url);
if (existsSync(source) && typeof module.registerHooks !== "function") {
  // Running TypeScript source needs Node's type stripping and synchronous module hooks (Node ≥ 22.18).
  if (!existsSync(dist)) {
    process.stderr.write(
      `error: running switchboard from the workspace needs Node.js >= 22.18 (this is ${process.version}); upgrade Node, or run \`pnpm build\` first\n`,
    );
    process.exit(1);
  }
  await import(dist.href);
} else if (existsSync(source)) {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      return nextResolve(specifier, {
        ...context,
        conditions: [...context.conditions, "@switchboard/source"],
      });
    },
  });
  await import(source.href);
} else {
  await import(dist.href);
}
