import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** The platform name: the `platforms:` key and the `platform` of every message. */
export const PLATFORM = "discord";

/** Discord rejects messages longer than this many characters. */
export const MAX_MESSAGE_LENGTH = 2000;

const TOKEN_HELP = `is missing: set DISCORD_BOT_TOKEN in ~/.switchboard/.env and write \`token: \${DISCORD_BOT_TOKEN}\` (the bot token from the Discord developer portal, Bot page)`;

/** One Discord bot account (section-level keys overlaid with `accounts.<name>`). */
export const discordConfigSchema = platformCommonSchema
  .extend({
    /** The bot token. */
    token: z
      .string({ error: (issue) => (issue.input === undefined ? TOKEN_HELP : "must be a string") })
      .min(1, TOKEN_HELP),
    /** Answer in guild channels and threads only when the bot is mentioned or replied to. DMs are always answered. */
    require_mention: z.boolean().default(true),
    /** On a mention in a guild channel, open a thread from that message and hold the conversation there. */
    auto_thread: z.boolean().default(false),
    /** Accept messages from other bots (never from this bot itself). */
    allow_bots: z.boolean().default(false),
    /**
     * Requests per second the REST client paces itself to. 50 is Discord's global limit per bot; raise it only
     * when Discord has raised yours (or against a local fake).
     */
    global_requests_per_second: z.number().int().positive().default(50),
  })
  .strict();

export type DiscordAdapterConfig = z.output<typeof discordConfigSchema>;
export type DiscordAdapterConfigInput = z.input<typeof discordConfigSchema>;
