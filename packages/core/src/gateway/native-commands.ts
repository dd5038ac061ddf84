import type { Logger } from "../logger.ts";
import type { PlatformAdapter } from "../platform.ts";
import { nativeCommands } from "./commands/registry.ts";

/**
 * Publish the command table as the account's native menu (Telegram `setMyCommands`, Discord slash
 * commands) when the adapter declares `nativeCommands`. A failure costs the menu only: it is logged.
 */
export async function publishCommands(adapter: PlatformAdapter, logger: Logger): Promise<void> {
  if (!adapter.capabilities.nativeCommands || !adapter.setCommands) return;
  try {
    await adapter.setCommands(nativeCommands());
  } catch (err) {
    logger.warn(
      { err },
      `could not publish the command menu of ${adapter.platform} account "${adapter.account}"`,
    );
  }
}
