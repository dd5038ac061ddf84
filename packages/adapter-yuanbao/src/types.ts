import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** The platform name: the `platforms:` key and the `platform` of every message. */
export const PLATFORM = "yuanbao";

/** Replies are split at this many characters (what Yuanbao's own clients send at most). */
export const MAX_MESSAGE_LENGTH = 4000;

export const DEFAULT_WS_URL = "wss://bot-wss.yuanbao.tencent.com/wss/connection";
export const DEFAULT_API_DOMAIN = "https://bot.yuanbao.tencent.com";

/** The module that carries every business request (sends, heartbeats). */
export const BIZ_MODULE = "yuanbao_openclaw_proxy";
/** The module of the connection's own commands (auth-bind, ping). */
export const CONN_MODULE = "conn_access";

/** `Head.cmd_type`. */
export const CmdType = { Request: 0, Response: 1, Push: 2, PushAck: 3 } as const;

/** Reply heartbeat states ("typing"). */
export const Heartbeat = { Running: 1, Finish: 2 } as const;

const missing = (key: string, env: string) => (issue: { input: unknown }) =>
  issue.input === undefined
    ? `is missing: set ${env} in ~/.switchboard/.env and write \`${key}: \${${env}}\` (the bot's credentials on the Yuanbao bot platform)`
    : "must be a string";

/** One Yuanbao bot (section-level keys overlaid with `accounts.<name>`). */
export const yuanbaoConfigSchema = platformCommonSchema
  .extend({
    /** The bot's App ID (the `app_key` of sign-token). */
    app_id: z.string({ error: missing("app_id", "YUANBAO_APP_ID") }).min(1),
    /** The bot's App Secret (the HMAC key of sign-token). */
    app_secret: z.string({ error: missing("app_secret", "YUANBAO_APP_SECRET") }).min(1),
    /** The bot's account id; sign-token returns it, so it is only needed to override that. */
    bot_id: z.string().min(1).optional(),
    /** The WebSocket gateway; tests point it at a fake. */
    ws_url: z
      .string()
      .url()
      .regex(/^wss?:\/\//, "must be a ws:// or wss:// URL")
      .default(DEFAULT_WS_URL),
    /** The HTTP API host that signs tokens; tests point it at a fake. */
    api_domain: z.string().url().default(DEFAULT_API_DOMAIN),
    /** In groups, answer only when the bot is @-mentioned (or quoted). Private chats are always answered. */
    require_mention: z.boolean().default(true),
    /** Pushes from one sender within this many ms are joined into one message (Yuanbao splits image + text). */
    debounce_ms: z.number().int().min(0).max(10_000).default(1500),
  })
  .strict();

export type YuanbaoAdapterConfig = z.output<typeof yuanbaoConfigSchema>;
export type YuanbaoAdapterConfigInput = z.input<typeof yuanbaoConfigSchema>;

/** The sign-token host of a config: `api_url` (the key every adapter takes) wins over `api_domain`. */
export function apiDomainOf(config: Pick<YuanbaoAdapterConfig, "api_domain" | "api_url">): string {
  return (config.api_url ?? config.api_domain).replace(/\/+$/, "");
}

/** Protocol timings; the defaults are Yuanbao's, tests shorten them. */
export interface YuanbaoTimings {
  /** A ping goes out this often (30 s). */
  pingIntervalMs: number;
  /** A ping unanswered this long counts as missed (10 s). */
  pongTimeoutMs: number;
  /** This many missed pongs in a row drop the connection and reconnect (2). */
  missedPongs: number;
  /** auth-bind must be answered within this (10 s). */
  authTimeoutMs: number;
  /** Opening the socket must succeed within this (15 s). */
  connectTimeoutMs: number;
  /** A send must be answered within this (30 s). */
  requestTimeoutMs: number;
  /** Reconnect backoff: the first wait, doubled each attempt up to `reconnectMaxMs` (1 s → 60 s). */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** sign-token answered "busy" (10099) is retried this many times, this far apart (3 × 1 s). */
  signRetries: number;
  signRetryDelayMs: number;
  /** A token is re-signed this long before its `duration` runs out (60 s). */
  tokenRefreshMarginMs: number;
  /** While a reply is being written, RUNNING goes out this often (2 s)… */
  typingEveryMs: number;
  /** …until core stops refreshing typing for this long, then FINISH (10 s). */
  typingIdleMs: number;
}

export const DEFAULT_TIMINGS: YuanbaoTimings = {
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  missedPongs: 2,
  authTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  reconnectBaseMs: 1_000,
  reconnectMaxMs: 60_000,
  signRetries: 3,
  signRetryDelayMs: 1_000,
  tokenRefreshMarginMs: 60_000,
  typingEveryMs: 2_000,
  typingIdleMs: 10_000,
};

/** Where a reply goes: a private (C2C) chat with a user, or a group. */
export type ChatTarget = { kind: "c2c"; userId: string } | { kind: "group"; groupCode: string };

/** `ConnMsg.head`. */
export interface Head {
  cmd_type: number;
  cmd: string;
  seq_no: number;
  msg_id: string;
  module: string;
  need_ack: boolean;
  status: number;
}

/** One Tencent IM element of a message body. */
export interface MsgBodyElement {
  msg_type: string;
  msg_content: {
    text?: string;
    data?: string;
    desc?: string;
    url?: string;
    file_name?: string;
    file_size?: number;
    image_info_array?: Array<{ url?: string; width?: number; height?: number }>;
    [key: string]: unknown;
  };
}

/**
 * An inbound push (C2C or group message, or a recall), decoded from protobuf or JSON to one shape.
 * @see https://cloud.tencent.com/document/product/269/2720 (Tencent IM message elements)
 */
export interface InboundPush {
  callback_command: string;
  from_account: string;
  to_account: string;
  sender_nickname: string;
  group_code: string;
  group_name: string;
  msg_seq: number;
  msg_random: number;
  msg_time: number;
  msg_key: string;
  msg_id: string;
  msg_body: MsgBodyElement[];
  cloud_custom_data: string;
  bot_owner_id: string;
  private_from_group_code: string;
}

/** The `data` of a sign-token answer. */
export interface SignToken {
  token: string;
  bot_id: string;
  /** Seconds the token is valid. */
  duration: number;
  source: string;
  product?: string;
  route_env?: string;
}

export const RECALL_COMMANDS = new Set(["Group.CallbackAfterRecallMsg", "C2C.CallbackAfterMsgWithDraw"]);

/** Close codes after which Yuanbao will not take this bot back on a reconnect. */
export const PERMANENT_CLOSE_CODES = new Set([4012, 4013, 4014, 4018, 4019, 4021]);
