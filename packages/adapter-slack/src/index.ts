import { DEFAULT_ACCOUNT, type PlatformDefinition } from "@switchboard/core";
import { SlackAdapter } from "./adapter.ts";
import { PLATFORM, type SlackAdapterConfig, slackConfigSchema } from "./types.ts";

export { SlackAdapter } from "./adapter.ts";
export { toPlatformError } from "./errors.ts";
export { escapeMrkdwn, markdownToMrkdwn } from "./format.ts";
export { type NormalizeContext, type NormalizeResult, normalizeEvent } from "./normalize.ts";
export {
  MAX_MESSAGE_LENGTH,
  PLATFORM,
  type SlackAdapterConfig,
  type SlackAdapterConfigInput,
  type SlackIdentity,
  slackConfigSchema,
} from "./types.ts";
export { MAX_REQUEST_AGE_S, SlackEventsReceiver, verifySlackSignature } from "./webhook.ts";

/** Create the adapter of one Slack account from its validated config. */
export function createSlackAdapter(
  config: SlackAdapterConfig,
  options: { account?: string } = {},
): SlackAdapter {
  return new SlackAdapter(config, { account: options.account ?? DEFAULT_ACCOUNT });
}

/** The `platforms.slack` section: one adapter per account (workspace installation). */
export const platform: PlatformDefinition<typeof slackConfigSchema> = {
  name: PLATFORM,
  configSchema: slackConfigSchema,
  create: (config, { account }) => createSlackAdapter(config, { account }),
};
