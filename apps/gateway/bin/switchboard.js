#!/usr/bin/env node
// The `switchboard` command. A published install runs the built `dist/cli.js`; in the workspace (where
// `src/` is present) it runs the TypeScript source, resolving workspace packages to their source too, so
// no build is needed. Either way this process *is* the gateway: no package manager sits in between to
// swallow the signals of Docker, systemd, pm2 or `kill`.
import { existsSync } from "node:fs";
import module from "node:module";

const source = new URL("../src/cli.ts", import.meta.url);
if (existsSync(source)) {
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
  await import(new URL("../dist/cli.js", import.meta.url).href);
}
