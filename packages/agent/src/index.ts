export { ABORTED, longText, parseToolMarkers, words } from "./echo.ts";
export { createHttpFetch, type HttpFetchOptions } from "./http-fetch.ts";
export { contentText, lastUserText, toModelMessages } from "./messages.ts";
export { DEFAULT_TIMEOUTS, type ModelTimeouts } from "./model-turn.ts";
export { buildSystemPrompt, defaultPersona, type SystemPromptOptions, sessionContext } from "./prompt.ts";
export { describeProviderError, type ProviderLabel } from "./provider-errors.ts";
export { DEFAULT_MODEL_NAMES, ModelCache } from "./providers.ts";
export {
  type AgentRunnerOptions,
  createAgentRunner,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_STEPS,
  type SwitchboardAgentRunner,
} from "./runner.ts";
export {
  type AgentTool,
  DEFAULT_MEMORY_CHAR_LIMIT,
  listSkills,
  MEMORY_SEPARATOR,
  parseMemoryEntries,
  runTool,
  type SkillSummary,
  TOOLSET_TOOLS,
  type ToolContext,
  ToolError,
  toolsFor,
} from "./tools/index.ts";
export {
  McpConnection,
  McpServerError,
  type McpServerState,
  type McpServerStatus,
} from "./tools/mcp/connection.ts";
export { McpPool, type McpPoolOptions, type McpStatusFile, mcpStatusPath } from "./tools/mcp/pool.ts";
export { mcpToolsFor } from "./tools/mcp/tools.ts";
export { createUndiciFetch } from "./undici-fetch.ts";
