import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Quote a shell word when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function real(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/** The first `switchboard` on PATH: its resolved path, and its text when it is a small shim script (pnpm's). */
function onPath(env: Record<string, string | undefined>): { file: string; shim: string } | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const file = real(join(dir, "switchboard"));
    if (!file) continue;
    let shim = "";
    try {
      if (statSync(file).size < 16_384 && !file.endsWith(".js")) shim = readFileSync(file, "utf8");
    } catch {
      // unreadable: compare by path only
    }
    return { file, shim };
  }
  return undefined;
}

/**
 * How to type the command that is running now, so printed hints work as printed: `switchboard` when that
 * is this install on PATH, `pnpm switchboard` from the workspace script, else `node <path to the bin>`.
 */
export function commandPrefix(
  argv: readonly string[] = process.argv,
  env: Record<string, string | undefined> = process.env,
): string {
  if (env.npm_lifecycle_event === "switchboard") {
    return /pnpm/.test(env.npm_config_user_agent ?? "") ? "pnpm switchboard" : "npm run switchboard --";
  }
  const bin = fileURLToPath(new URL("../bin/switchboard.js", import.meta.url));
  const script = argv[1] ? real(argv[1]) : undefined;
  const mine = new Set([real(bin), script].filter(Boolean));
  const found = onPath(env);
  if (found && (mine.has(found.file) || found.shim.includes("@switchboard/gateway/bin/switchboard.js")))
    return "switchboard";
  return `node ${shellWord(existsSync(bin) ? bin : (argv[1] ?? bin))}`;
}
