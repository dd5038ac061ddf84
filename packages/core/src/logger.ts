import { pino } from "pino";
import { redactingDestination } from "./redact.ts";

/** The logging surface core and adapters use: pino's, so a pino logger is one. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Log fields whose values are secrets; pino replaces them with `[redacted]`. */
export const SECRET_PATHS = [
  "token",
  "*.token",
  "key",
  "*.key",
  "api_key",
  "*.api_key",
  "secret",
  "*.secret",
  "authorization",
];

/**
 * A pino logger with secrets redacted, by field name and by value (every known secret value, wherever it
 * appears in the line). JSON by default; pretty output is the app's business.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const opts = { level: options.level ?? "info", redact: { paths: SECRET_PATHS, censor: "[redacted]" } };
  return pino(opts, redactingDestination(options.destination ?? pino.destination({ dest: 1, sync: true })));
}

/** A logger that drops everything (tests, library defaults). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A logger that records entries in memory, for tests that assert on warnings. */
export function memoryLogger(): Logger & { entries: Array<{ level: string; msg: string; obj: object }> } {
  const entries: Array<{ level: string; msg: string; obj: object }> = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: object | string, msg?: string): void => {
        if (typeof obj === "string") entries.push({ level, msg: obj, obj: { ...bindings } });
        else entries.push({ level, msg: msg ?? "", obj: { ...bindings, ...obj } });
      };
    return {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return Object.assign(make({}), { entries });
}
