import type { GatewayConfig } from "@switchboard/core";
import type { Command } from "commander";
import type { GlobalOptions } from "./cli.ts";

export interface CliHelpers {
  loadOrExit(opts: GlobalOptions): Promise<GatewayConfig>;
  globals(cmd: Command): GlobalOptions;
  fail(err: unknown): never;
}

/** `switchboard cron …` (filled in with the cron subsystem). */
export function registerCronCommands(_program: Command, _helpers: CliHelpers): void {}
