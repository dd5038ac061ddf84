import {
  type AdapterContext,
  type AdapterStartResult,
  type Address,
  DEFAULT_ACCOUNT,
  type InboundMedia,
  type Logger,
  type MediaFile,
  type OutboundMessage,
  type PlatformAdapter,
  type PlatformCapabilities,
  type PlatformDefinition,
  type PlatformError,
  type SentMessage,
} from "@switchboard/core";
import { sendHeartbeat, sendText } from "./api.ts";
import { decodePush, type Frame } from "./codec.ts";
import { YuanbaoConnection } from "./connection.ts";
import { PushDebouncer } from "./debounce.ts";
import { toPlatformError } from "./errors.ts";
import { ReplyHeartbeats } from "./heartbeat.ts";
import { downloadYuanbaoImage } from "./media.ts";
import { normalizePush } from "./normalize.ts";
import { SignTokenClient } from "./sign.ts";
import {
  apiDomainOf,
  type ChatTarget,
  DEFAULT_TIMINGS,
  type InboundPush,
  MAX_MESSAGE_LENGTH,
  PLATFORM,
  RECALL_COMMANDS,
  type YuanbaoAdapterConfig,
  type YuanbaoAdapterConfigInput,
  type YuanbaoTimings,
  yuanbaoConfigSchema,
} from "./types.ts";

/** How many ids of sent messages and seen groups are remembered. */
const RECENT_CAPACITY = 2048;

class RecentIds {
  readonly #ids = new Set<string>();
  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > RECENT_CAPACITY) this.#ids.delete(this.#ids.values().next().value!);
  }
  has(id: string): boolean {
    return this.#ids.has(id);
  }
}

export interface YuanbaoAdapterOptions {
  account?: string;
  /** Protocol timings (ping interval, timeouts, backoff); Yuanbao's own by default. */
  timings?: Partial<YuanbaoTimings>;
}

/** One Yuanbao bot: pushes and replies over one protobuf WebSocket, its token signed over HTTP. */
export class YuanbaoAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  /** Yuanbao sends over the WebSocket it receives on: a standby replica forwards sends to the holder. */
  readonly sendsOverConnection = true;
  readonly capabilities: PlatformCapabilities = {
    maxMessageLength: MAX_MESSAGE_LENGTH,
    edit: false,
    typing: true,
    threads: false,
    format: "markdown",
    // Images only (see media.ts); sending files needs Tencent COS uploads, which the reference leaves out.
    mediaIn: true,
    nativeCommands: false,
  };
  readonly config: YuanbaoAdapterConfig;
  readonly timings: YuanbaoTimings;
  #ctx: AdapterContext | undefined;
  #logger: Logger | undefined;
  #connection: YuanbaoConnection | undefined;
  #debouncer: PushDebouncer | undefined;
  #heartbeats: ReplyHeartbeats | undefined;
  #running = false;
  readonly #sentIds = new RecentIds();
  /** Group codes seen, so a reply without a `chatType` (a cron delivery) still goes to the group. */
  readonly #groups = new RecentIds();

  constructor(config: YuanbaoAdapterConfig, options: YuanbaoAdapterOptions = {}) {
    this.config = config;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  /** The bot's account id, once known (config `bot_id` or sign-token's). */
  get botId(): string | undefined {
    return this.#connection?.botId ?? this.config.bot_id;
  }

  /** The connection, for tests and diagnostics. */
  get connection(): YuanbaoConnection | undefined {
    return this.#connection;
  }

  /** Why the adapter stopped on its own (a permanent close code), if it did. */
  get failure(): PlatformError | undefined {
    return this.#connection?.failure;
  }

  async start(ctx: AdapterContext): Promise<AdapterStartResult | undefined> {
    this.#ctx = ctx;
    const logger = ctx.logger;
    this.#logger = logger;
    const sign = new SignTokenClient({
      appId: this.config.app_id,
      appSecret: this.config.app_secret,
      apiDomain: apiDomainOf(this.config),
      logger,
      retries: this.timings.signRetries,
      retryDelayMs: this.timings.signRetryDelayMs,
      refreshMarginMs: this.timings.tokenRefreshMarginMs,
      signal: () => ctx.signal,
    });
    const connection = new YuanbaoConnection({
      wsUrl: this.config.ws_url,
      sign,
      botId: this.config.bot_id,
      timings: this.timings,
      logger,
      onPush: (frame) => this.#onPush(frame),
      onFailure: () => {
        this.#running = false;
        this.#debouncer?.clear();
        this.#heartbeats?.clear();
      },
    });
    this.#connection = connection;
    this.#debouncer = new PushDebouncer(this.config.debounce_ms, (push) => this.#dispatch(push));
    this.#heartbeats = new ReplyHeartbeats((target, state) => this.#heartbeat(target, state), this.timings);
    this.#running = true;
    try {
      await connection.start();
    } catch (err) {
      const error = toPlatformError(err);
      if (!error.retryable) {
        this.#running = false;
        await connection.close();
        throw error;
      }
      // Unreachable for now: start anyway and keep dialling, as the other long-connection adapters do.
      connection.retryInBackground();
      return {
        connected: false,
        reason: `cannot reach Yuanbao (${error.message}); retrying in the background`,
      };
    }
    return undefined;
  }

  #onPush(frame: Frame): void {
    if (!this.#running) return;
    const push = decodePush(frame.data);
    if (!push) {
      this.#logger?.debug({ cmd: frame.head.cmd, bytes: frame.data.length }, "yuanbao push not a message");
      return;
    }
    // A recall is not a message to answer; it must not be merged into one either.
    if (RECALL_COMMANDS.has(push.callback_command)) return;
    this.#debouncer?.add(push);
  }

  #dispatch(push: InboundPush): void {
    const ctx = this.#ctx;
    if (!ctx || !this.#running) return;
    const inbound = normalizePush(push, {
      account: this.account,
      botId: this.botId,
      isOwnMessage: (id) => this.#sentIds.has(id),
    });
    if (!inbound) return;
    if (inbound.chat.type === "group") this.#groups.add(inbound.chat.id);
    ctx.dispatch(inbound).catch((err: unknown) => this.#logger?.error({ err }, "yuanbao dispatch failed"));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#debouncer?.clear();
    this.#heartbeats?.clear();
    await this.#connection?.close();
  }

  #target(address: Address): ChatTarget {
    const group =
      address.chatType === "group" || (address.chatType === undefined && this.#groups.has(address.chatId));
    return group ? { kind: "group", groupCode: address.chatId } : { kind: "c2c", userId: address.chatId };
  }

  /**
   * Send one text message (core has already split it to 4,000 characters, fences closed) to the group or the
   * private chat. In groups the first part quotes the message it answers (`ref_msg_id`). The last part ends
   * the typing heartbeat with FINISH.
   */
  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    return downloadYuanbaoImage(media, {
      maxBytes: options.maxBytes,
      apiHost: new URL(apiDomainOf(this.config)).hostname,
    });
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const connection = this.#connection;
    if (!connection) throw toPlatformError({ action: "send", message: "the adapter is not started" });
    const target = this.#target(address);
    const quote = target.kind === "group" && address.replyToMessageId && (message.part?.index ?? 0) === 0;
    const messageId = await sendText(connection, this.botId ?? "", target, message.text, {
      ...(quote ? { refMsgId: address.replyToMessageId } : {}),
    });
    this.#sentIds.add(messageId);
    if (!message.part || message.part.index === message.part.count - 1) this.#heartbeats?.finish(target);
    return { messageId };
  }

  /** Yuanbao's reply heartbeat: RUNNING while the reply is written (FINISH follows the reply). */
  async typing(address: Address): Promise<void> {
    if (this.#connection?.open) this.#heartbeats?.running(this.#target(address));
  }

  #heartbeat(target: ChatTarget, state: number): void {
    const from = this.botId;
    if (this.#connection && from) sendHeartbeat(this.#connection, from, target, state);
  }
}

/** Build an adapter from a config as written (defaults applied, validated). */
export function createYuanbaoAdapter(
  config: YuanbaoAdapterConfigInput,
  options: YuanbaoAdapterOptions = {},
): YuanbaoAdapter {
  return new YuanbaoAdapter(yuanbaoConfigSchema.parse(config), options);
}

export const platform: PlatformDefinition<typeof yuanbaoConfigSchema> = {
  name: PLATFORM,
  configSchema: yuanbaoConfigSchema,
  credentialKeys: ["app_id", "app_secret", "bot_id"],
  create: (config, { account }) => new YuanbaoAdapter(config, { account }),
};

export { sendHeartbeat, sendText } from "./api.ts";
export {
  decode,
  decodeFrame,
  decodePush,
  encode,
  encodeFrame,
  type Frame,
  messageType,
  PROTO_FILE,
} from "./codec.ts";
export { type ConnectionOptions, YuanbaoConnection } from "./connection.ts";
export { PushDebouncer } from "./debounce.ts";
export { SIGN_BUSY_CODE, toPlatformError, type YuanbaoFailure } from "./errors.ts";
export { ReplyHeartbeats } from "./heartbeat.ts";
export { type NormalizeContext, normalizePush } from "./normalize.ts";
export { beijingTimestamp, INSTANCE_ID, SIGN_TOKEN_PATH, SignTokenClient, signature } from "./sign.ts";
export {
  apiDomainOf,
  BIZ_MODULE,
  type ChatTarget,
  CmdType,
  CONN_MODULE,
  DEFAULT_API_DOMAIN,
  DEFAULT_TIMINGS,
  DEFAULT_WS_URL,
  type Head,
  Heartbeat,
  type InboundPush,
  MAX_MESSAGE_LENGTH,
  type MsgBodyElement,
  PERMANENT_CLOSE_CODES,
  PLATFORM,
  RECALL_COMMANDS,
  type SignToken,
  type YuanbaoAdapterConfig,
  type YuanbaoAdapterConfigInput,
  type YuanbaoTimings,
  yuanbaoConfigSchema,
} from "./types.ts";
