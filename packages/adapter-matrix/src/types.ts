import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

export const PLATFORM = "matrix";

/** The config of one Matrix account (section-level keys overlaid with `accounts.<name>`). */
export const matrixConfigSchema = platformCommonSchema
  .extend({
    /** The homeserver's client-server API base URL (Matrix's `api_url`). */
    homeserver: z.string().url().optional(),
    user_id: z
      .string({ error: "is missing: set the bot's Matrix user id, e.g. @bot:example.org" })
      .regex(/^@[^:\s]+:\S+$/, "must be a Matrix user id like @bot:example.org"),
    access_token: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Reuse one device across restarts (password login otherwise creates a new device each start). */
    device_id: z.string().min(1).optional(),
    /** Join rooms the bot is invited to, when the inviter is an allowed user. */
    auto_join: z.boolean().default(true),
    require_mention: z.boolean().default(false),
    /** How long one `/sync` long poll waits on the homeserver. */
    sync_timeout_ms: z.number().int().min(0).max(120_000).default(30_000),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (!cfg.homeserver && !cfg.api_url) {
      ctx.addIssue({
        code: "custom",
        path: ["homeserver"],
        message: "is missing: set the homeserver URL, e.g. https://matrix.example.org",
      });
    }
    if (!cfg.access_token && !cfg.password) {
      ctx.addIssue({
        code: "custom",
        path: ["access_token"],
        message:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shows the config file's ${VAR} syntax
          'is missing: set access_token (e.g. "${MATRIX_ACCESS_TOKEN}") or password (e.g. "${MATRIX_PASSWORD}") for password login',
      });
    }
  });

export type MatrixAdapterConfig = z.output<typeof matrixConfigSchema>;
/** What a caller may pass to `createMatrixAdapter` (defaults not yet applied). */
export type MatrixAdapterInput = z.input<typeof matrixConfigSchema>;

/**
 * The content of an `m.room.message` event, as far as the adapter reads or writes it.
 * @see https://spec.matrix.org/v1.12/client-server-api/#mroommessage
 */
export interface MessageContent {
  msgtype?: string;
  body?: string;
  format?: string;
  formatted_body?: string;
  "m.mentions"?: { user_ids?: string[]; room?: boolean };
  "m.relates_to"?: RelatesTo;
  "m.new_content"?: MessageContent;
}

/** @see https://spec.matrix.org/v1.12/client-server-api/#forming-relationships-between-events */
export interface RelatesTo {
  rel_type?: string;
  event_id?: string;
  is_falling_back?: boolean;
  "m.in_reply_to"?: { event_id?: string };
}

export const HTML_FORMAT = "org.matrix.custom.html";
