import { type Logger, SECRET_PATHS } from "@switchboard/core";
import { pino } from "pino";
import pretty from "pino-pretty";

/** pino: JSON lines by default, pretty and coloured on a TTY (or with `pretty: true`). Secrets are redacted. */
export function createAppLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.SWITCHBOARD_LOG_LEVEL ?? "info";
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const opts = { level, redact: { paths: [...SECRET_PATHS], censor: "[redacted]" }, base: undefined };
  if (usePretty) return pino(opts, pretty({ colorize: Boolean(process.stdout.isTTY), sync: true }));
  return pino(opts, pino.destination({ dest: 1, sync: true }));
}
