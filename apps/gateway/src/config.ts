import { type GatewayConfig, type LoadConfigOptions, loadConfig } from "@switchboard/core";
import { configuredPlatforms, loadPlatformDefinitions } from "./platforms.ts";

/**
 * Load the config in two passes: the first finds which platforms are configured, whose adapter packages
 * are then imported (only those), and the second validates each platform section with its adapter's schema.
 */
export async function loadGatewayConfig(options: LoadConfigOptions = {}): Promise<GatewayConfig> {
  const first = await loadConfig(options);
  const names = configuredPlatforms(first.platforms);
  if (names.length === 0) return first;
  const platforms = await loadPlatformDefinitions(names);
  return loadConfig({ ...options, platforms });
}
