import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** The platform name: the `platforms:` key and the `platform` of every message. */
export const PLATFORM = "feishu";

/** Replies are split at this many characters (Feishu's own limit is far higher; long messages read badly). */
export const MAX_MESSAGE_LENGTH = 4000;

/** The open-platform hosts behind the `feishu` and `lark` shorthands. */
export const DOMAINS = { feishu: "https://open.feishu.cn", lark: "https://open.larksuite.com" } as const;

/** The events path of an account when `webhook_path` is not set. */
export function defaultWebhookPath(account: string): string {
  return `/feishu/${account}/events`;
}

/** The long connection refuses any other app id shape without a word, so it is checked up front. */
const APP_ID_PATTERN = /^cli_[0-9a-fA-F]{16}$/;

const missing = (key: string, env: string) => (issue: { input: unknown }) =>
  issue.input === undefined
    ? `is missing: set ${env} in ~/.switchboard/.env and write \`${key}: \${${env}}\` (Developer Console → your app → Credentials & Basic Info)`
    : "must be a string";

/** One Feishu/Lark app (section-level keys overlaid with `accounts.<name>`). */
export const feishuConfigSchema = platformCommonSchema
  .extend({
    /** The app's App ID (`cli_…`). */
    app_id: z.string({ error: missing("app_id", "FEISHU_APP_ID") }).min(1),
    /** The app's App Secret. */
    app_secret: z.string({ error: missing("app_secret", "FEISHU_APP_SECRET") }).min(1),
    /** `feishu` (open.feishu.cn), `lark` (open.larksuite.com) or the base URL of the open platform. */
    domain: z
      .union([z.enum(["feishu", "lark"]), z.string().url()], { error: "must be feishu, lark or a URL" })
      .default("feishu"),
    /** `websocket`: the long connection (no public URL needed); `webhook`: events POSTed to the gateway. */
    mode: z.enum(["websocket", "webhook"]).default("websocket"),
    /** Event encryption key (Events & Callbacks → Encryption Strategy); webhook events are then encrypted and signed. */
    encrypt_key: z.string().min(1).optional(),
    /** Verification token from the same page; checked on every webhook event. */
    verification_token: z.string().min(1).optional(),
    /** Where the gateway's HTTP listener receives this app's events in webhook mode (default `/feishu/<account>/events`). */
    webhook_path: z
      .string()
      .regex(/^\/[^\s?#]*$/, "must be a URL path starting with /")
      .optional(),
    /** In groups, answer only when the bot is @-mentioned. DMs are always answered. */
    require_mention: z.boolean().default(true),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.mode === "websocket" && !APP_ID_PATTERN.test(cfg.app_id)) {
      ctx.addIssue({
        code: "custom",
        path: ["app_id"],
        message:
          "must be the app's App ID, cli_ followed by 16 hex digits (the long connection accepts nothing else)",
      });
    }
    if (cfg.mode === "webhook" && !cfg.encrypt_key && !cfg.verification_token) {
      ctx.addIssue({
        code: "custom",
        path: ["encrypt_key"],
        message:
          "webhook mode needs encrypt_key (recommended) or verification_token, or anyone could post events",
      });
    }
  });

export type FeishuAdapterConfig = z.output<typeof feishuConfigSchema>;
export type FeishuAdapterConfigInput = z.input<typeof feishuConfigSchema>;

/** The open-platform base URL of a config: `api_url` when set, else the `domain`. */
export function baseUrlOf(config: Pick<FeishuAdapterConfig, "domain" | "api_url">): string {
  const url =
    config.api_url ??
    (config.domain === "feishu" || config.domain === "lark" ? DOMAINS[config.domain] : config.domain);
  return url.replace(/\/+$/, "");
}

/** @see https://open.feishu.cn/document/server-docs/im-v1/message/events/receive */
export interface FeishuUserId {
  open_id?: string;
  union_id?: string;
  user_id?: string;
}

export interface FeishuMention {
  key: string;
  id: FeishuUserId;
  name?: string;
  tenant_key?: string;
}

export interface FeishuReceiveEvent {
  sender: { sender_id?: FeishuUserId; sender_type?: string; tenant_key?: string };
  message: {
    message_id: string;
    root_id?: string;
    parent_id?: string;
    thread_id?: string;
    create_time?: string;
    chat_id: string;
    chat_type: string;
    message_type: string;
    content: string;
    mentions?: FeishuMention[];
  };
}

/** The v2 event envelope delivered by webhook (and, flattened, by the long connection). */
export interface FeishuEventEnvelope {
  schema?: string;
  header?: {
    event_id?: string;
    event_type?: string;
    token?: string;
    create_time?: string;
    app_id?: string;
    tenant_key?: string;
  };
  event?: unknown;
  type?: string;
  challenge?: string;
  token?: string;
}

/** An element of a `post` (rich text) message. @see https://open.feishu.cn/document/server-docs/im-v1/message-content-description/create_json#45e0953e */
export type PostElement =
  | { tag: "text"; text: string; style?: string[] }
  | { tag: "a"; text: string; href: string; style?: string[] }
  | { tag: "at"; user_id: string; user_name?: string }
  | { tag: "code_block"; language?: string; text: string }
  | { tag: "hr" }
  | { tag: "md"; text: string }
  | { tag: "img"; image_key: string }
  | { tag: "emotion"; emoji_type: string };

export interface PostContent {
  title?: string;
  content: PostElement[][];
}

/** The answer of every OpenAPI call: `code` 0 on success. */
export interface FeishuResponse<T = unknown> {
  code?: number;
  msg?: string;
  data?: T;
}
