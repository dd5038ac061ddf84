import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** The platform name: the `platforms:` key and the `platform` of every message. */
export const PLATFORM = "slack";

/**
 * The longest text one message carries. Slack accepts 40,000 characters in `text` but truncates
 * what it displays well before that; 4,000 keeps every chunk readable and whole.
 */
export const MAX_MESSAGE_LENGTH = 4000;

/** `${NAME}`: how the YAML config refers to a variable from `.env`. */
const envRef = (name: string): string => `$\{${name}}`;

const BOT_TOKEN_HELP =
  `is missing: set SLACK_BOT_TOKEN in ~/.switchboard/.env and write \`bot_token: ${envRef("SLACK_BOT_TOKEN")}\` ` +
  "(the Bot User OAuth Token, xoxb-…, from your app's OAuth & Permissions page)";
const APP_TOKEN_HELP =
  "is required in socket mode: set SLACK_APP_TOKEN (an app-level token, xapp-…, with connections:write) " +
  `in ~/.switchboard/.env and write \`app_token: ${envRef("SLACK_APP_TOKEN")}\`, or set \`mode: http\``;
const SIGNING_SECRET_HELP =
  "is required in http mode: every event is verified with it; set SLACK_SIGNING_SECRET (Basic Information " +
  `page of your app) in ~/.switchboard/.env and write \`signing_secret: ${envRef("SLACK_SIGNING_SECRET")}\``;

/** One Slack app installation (section-level keys overlaid with `accounts.<name>`). */
export const slackConfigSchema = platformCommonSchema
  .extend({
    /** The bot token (`xoxb-…`) every Web API call uses. */
    bot_token: z
      .string({ error: (issue) => (issue.input === undefined ? BOT_TOKEN_HELP : "must be a string") })
      .min(1, BOT_TOKEN_HELP)
      .startsWith("xoxb-", "must be a bot token (xoxb-…), not a user or app-level token"),
    /** `socket`: Socket Mode over a WebSocket (no public URL needed); `http`: signed Events API POSTs. */
    mode: z.enum(["socket", "http"]).default("socket"),
    /** The app-level token (`xapp-…`, scope `connections:write`); Socket Mode needs it. */
    app_token: z.string().startsWith("xapp-", "must be an app-level token (xapp-…)").optional(),
    /** The signing secret (Basic Information page); HTTP mode verifies every request with it. */
    signing_secret: z.string().min(1, "must not be empty").optional(),
    /** The Web API base URL (Bolt's `slackApiUrl`), e.g. a fake Slack in tests. */
    api_url: z
      .url()
      .transform((u) => (u.endsWith("/") ? u : `${u}/`))
      .optional(),
    /** Where the gateway's HTTP listener accepts this account's events in HTTP mode; default `/slack/<account>/events`. */
    events_path: z.string().startsWith("/", "must start with /").optional(),
    /** Answer channel messages in a thread on the message (a thread is then one conversation). */
    reply_in_thread: z.boolean().default(true),
    /** Answer in channels only when the bot is mentioned (or in a thread it is part of). DMs are always answered. */
    require_mention: z.boolean().default(true),
    /** Accept messages from other bots (never from this bot itself). */
    allow_bots: z.boolean().default(false),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.mode === "socket" && !config.app_token) {
      ctx.addIssue({
        code: "custom",
        path: ["app_token"],
        message: APP_TOKEN_HELP,
      });
    }
    if (config.mode === "http" && !config.signing_secret) {
      ctx.addIssue({
        code: "custom",
        path: ["signing_secret"],
        message: SIGNING_SECRET_HELP,
      });
    }
  });

/** The validated config one `SlackAdapter` receives. */
export type SlackAdapterConfig = z.output<typeof slackConfigSchema>;
export type SlackAdapterConfigInput = z.input<typeof slackConfigSchema>;

/** The bot's own identity in its workspace, from `auth.test`. */
export interface SlackIdentity {
  /** The bot's user id (`U…`): what `<@…>` mentions name. */
  userId: string;
  /** The bot id (`B…`): what the bot's own messages carry as `bot_id`. */
  botId: string | undefined;
  teamId: string | undefined;
}

/**
 * A file attached to a message.
 * @see https://docs.slack.dev/reference/objects/file-object
 */
export const slackFileSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  mimetype: z.string().optional(),
  size: z.number().optional(),
  subtype: z.string().optional(),
  url_private: z.string().optional(),
  url_private_download: z.string().optional(),
});

/**
 * The `message` / `app_mention` event fields the adapter reads; every other field passes through.
 * @see https://docs.slack.dev/reference/events/message
 */
export const slackMessageEventSchema = z.looseObject({
  type: z.string(),
  subtype: z.string().optional(),
  channel: z.string().optional(),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
  parent_user_id: z.string().optional(),
  team: z.string().optional(),
  files: z.array(slackFileSchema).optional(),
  user_profile: z
    .looseObject({
      display_name: z.string().optional(),
      real_name: z.string().optional(),
      name: z.string().optional(),
    })
    .optional(),
});
export type SlackMessageEvent = z.output<typeof slackMessageEventSchema>;

/**
 * The outer body of an Events API request (HTTP) or of an `events_api` envelope's payload (Socket Mode).
 * @see https://docs.slack.dev/apis/events-api/#callback-field
 */
export const slackEventBodySchema = z.looseObject({
  type: z.string(),
  challenge: z.string().optional(),
  team_id: z.string().optional(),
  event_id: z.string().optional(),
  event: z.looseObject({ type: z.string() }).optional(),
});
export type SlackEventBody = z.output<typeof slackEventBodySchema>;
