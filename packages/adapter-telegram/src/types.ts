import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

const TOKEN_HINT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config file's interpolation syntax
  "is missing: set TELEGRAM_BOT_TOKEN in ~/.switchboard/.env (the token @BotFather gave you) and write `token: ${TELEGRAM_BOT_TOKEN}`";

/** Telegram allows 1–256 characters of A–Z, a–z, 0–9, `_` and `-` in a webhook secret token. */
const WEBHOOK_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * The config of one Telegram bot account: the `platforms.telegram` section overlaid with
 * `accounts.<name>` (see core's `platformAccounts`).
 */
export const telegramConfigSchema = platformCommonSchema
  .extend({
    token: z
      .string({ error: TOKEN_HINT })
      .min(1, TOKEN_HINT)
      .regex(/^\d+:[A-Za-z0-9_-]+$/, "must look like 123456789:AAE… (the token @BotFather gave you)"),
    /** The Bot API root (grammY's `apiRoot`): a local Bot API server, or a fake one in tests. */
    api_url: z
      .url()
      .transform((u) => u.replace(/\/+$/, ""))
      .optional(),
    mode: z.enum(["polling", "webhook"]).default("polling"),
    /** Where the gateway's HTTP listener accepts this account's updates; default `/telegram/<account>`. */
    webhook_path: z.string().startsWith("/", "must start with /").optional(),
    /** The public URL Telegram should post updates to; when set, `setWebhook` is called at start. */
    webhook_url: z.url().optional(),
    webhook_secret: z
      .string()
      .regex(WEBHOOK_SECRET_PATTERN, "must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
      .optional(),
    /** Which chunks of a reply quote the user's message: none, the first only, or every one. */
    reply_to_mode: z.enum(["off", "first", "all"]).default("first"),
    /** The bot's @username; when both it and `bot_id` are set, `getMe` is skipped. */
    bot_username: z
      .string()
      .transform((u) => u.replace(/^@/, ""))
      .pipe(z.string().regex(/^[A-Za-z0-9_]{3,64}$/, "must be a Telegram bot username"))
      .optional(),
    bot_id: z
      .union([z.number().int().positive(), z.string().regex(/^\d+$/, "must be the bot's numeric id")])
      .transform(String)
      .optional(),
    /** Long-poll timeout in seconds (Telegram holds `getUpdates` this long when idle). */
    poll_timeout_s: z.number().int().min(0).max(50).default(30),
    require_mention: z.boolean().default(false),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.mode === "webhook" && !config.webhook_secret) {
      ctx.addIssue({
        code: "custom",
        path: ["webhook_secret"],
        message:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config file's interpolation syntax
          "is required in webhook mode: Telegram sends it in X-Telegram-Bot-Api-Secret-Token so forged updates are rejected; set TELEGRAM_WEBHOOK_SECRET in ~/.switchboard/.env and write `webhook_secret: ${TELEGRAM_WEBHOOK_SECRET}`",
      });
    }
  });

/** The validated config one `TelegramAdapter` receives. */
export type TelegramAdapterConfig = z.output<typeof telegramConfigSchema>;

/** The bot account's own identity: from config or `getMe`. */
export interface BotIdentity {
  id: string;
  username: string;
}
