export { loadGatewayConfig } from "./config.ts";
export { addAgent, commitDocument, removeAgent, routesTo } from "./edit-config.ts";
export { initHome } from "./init.ts";
export { createAppLogger } from "./logging.ts";
export {
  adapterPackage,
  configuredPlatforms,
  loadPlatformDefinitions,
  MissingAdapterError,
} from "./platforms.ts";
export { type RunningGateway, type StartOptions, startGateway } from "./run.ts";
export { VERSION } from "./version.ts";
