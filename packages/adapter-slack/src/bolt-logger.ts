import { type Logger as BoltLogger, LogLevel } from "@slack/bolt";
import type { Logger } from "@switchboard/core";

/**
 * Bolt's logger interface over the gateway's logger. Bolt's `info` is connection chatter
 * ("Now connected to Slack"), so it goes out at debug; warnings and errors stay what they are.
 * The target is swappable because the WebClient is built before `start()` hands over a logger.
 */
export class BoltLoggerBridge implements BoltLogger {
  #target: Logger | undefined;
  #level: LogLevel = LogLevel.INFO;
  #name = "slack";

  setTarget(target: Logger | undefined): void {
    this.#target = target;
  }

  debug(...msg: unknown[]): void {
    if (this.#level === LogLevel.DEBUG) this.#target?.debug({ component: this.#name }, join(msg));
  }

  info(...msg: unknown[]): void {
    this.#target?.debug({ component: this.#name }, join(msg));
  }

  warn(...msg: unknown[]): void {
    this.#target?.warn({ component: this.#name }, join(msg));
  }

  error(...msg: unknown[]): void {
    this.#target?.error({ component: this.#name }, join(msg));
  }

  setLevel(level: LogLevel): void {
    this.#level = level;
  }

  getLevel(): LogLevel {
    return this.#level;
  }

  setName(name: string): void {
    this.#name = name;
  }
}

function join(msg: unknown[]): string {
  return msg.map(show).join(" ");
}

function show(m: unknown): string {
  if (typeof m === "string") return m;
  if (m instanceof Error) return m.message;
  try {
    return JSON.stringify(m) ?? String(m);
  } catch {
    return String(m);
  }
}
