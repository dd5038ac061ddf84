import { type Logger, redactingDestination, SECRET_PATHS } from "@switchboard/core";
import { pino } from "pino";
import pretty from "pino-pretty";

/**
 * pino: JSON lines by default, pretty and coloured on a TTY (or with `pretty: true`). Secrets are redacted
 * by field name and by value: no configured secret reaches stdout, whichever adapter or SDK put it in a message.
 */
export function createAppLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.SWITCHBOARD_LOG_LEVEL ?? "info";
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const opts = { level, redact: { paths: [...SECRET_PATHS], censor: "[redacted]" }, base: undefined };
  if (usePretty)
    return pino(opts, redactingDestination(pretty({ colorize: Boolean(process.stdout.isTTY), sync: true })));
  return pino(opts, redactingDestination(pino.destination({ dest: 1, sync: true })));
}
