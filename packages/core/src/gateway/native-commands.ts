import type { Logger } from "../logger.ts";
import type { NativeCommand, PlatformAdapter } from "../platform.ts";
import { COMMAND_TABLE } from "./commands/registry.ts";

/** The gateway's command table as a platform's native menu shows it. */
export function nativeCommandTable(): NativeCommand[] {
  return COMMAND_TABLE.map((c) => ({ name: c.name, description: c.description }));
}

/**
 * Publish the command table as the account's native menu (Telegram `setMyCommands`, Discord slash
 * commands) when the adapter declares `nativeCommands`. A failure costs the menu only: it is logged.
 */
export async function publishCommands(adapter: PlatformAdapter, logger: Logger): Promise<void> {
  if (!adapter.capabilities.nativeCommands || !adapter.setCommands) return;
  try {
    await adapter.setCommands(nativeCommandTable());
  } catch (err) {
    logger.warn(
      { err },
      `could not publish the command menu of ${adapter.platform} account "${adapter.account}"`,
    );
  }
}
