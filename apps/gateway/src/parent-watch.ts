/**
 * A gateway started by a package-manager script (`pnpm start`, `npm start`) runs under `pnpm → sh → node`.
 * Docker, pm2 and `kill $!` signal the package manager, which exits without passing the signal on, and the
 * gateway would keep running (and holding its port) as an orphan. When started that way, watch the parent:
 * once this process is re-parented, shut down as if signalled. A gateway started directly (`switchboard run`,
 * `nohup switchboard run &`) is left alone, so it outlives the shell that started it as intended.
 */
/** The parent at startup: read when this module loads, so a parent that dies while config loads still counts. */
const PARENT_AT_START = process.ppid;

export function exitWithParent(
  onOrphaned: () => void,
  options: { env?: Record<string, string | undefined>; intervalMs?: number } = {},
): () => void {
  const env = options.env ?? process.env;
  const underScript = env.npm_lifecycle_event !== undefined || env.SWITCHBOARD_EXIT_WITH_PARENT === "1";
  if (!underScript) return () => {};
  const parent = PARENT_AT_START;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}
