import type { WSClient } from "@larksuiteoapi/node-sdk";
import {
  type AdapterContext,
  type Address,
  AuthError,
  DEFAULT_ACCOUNT,
  type InboundMedia,
  type Logger,
  type MediaFile,
  type OutboundMedia,
  type OutboundMessage,
  type PlatformAdapter,
  type PlatformCapabilities,
  type PlatformDefinition,
  PlatformError,
  RateLimitError,
  type SentMessage,
  TransientError,
} from "@switchboard/core";
import { type BotInfo, FeishuApi, type FeishuTarget } from "./api.ts";
import { markdownToPlain, outboundContent } from "./format.ts";
import { downloadResource, FEISHU_UPLOAD_MAX_BYTES, uploadForMessage } from "./media.ts";
import { normalizeReceive } from "./normalize.ts";
import {
  baseUrlOf,
  defaultWebhookPath,
  type FeishuAdapterConfig,
  type FeishuAdapterConfigInput,
  type FeishuReceiveEvent,
  feishuConfigSchema,
  MAX_MESSAGE_LENGTH,
  PLATFORM,
} from "./types.ts";
import { createWebhookHandler, type WebhookHandler } from "./webhook.ts";
import { startLongConnection } from "./ws.ts";

/** How long `stop()` waits for events already accepted to reach core. */
const DRAIN_TIMEOUT_MS = 5_000;
/** After a failed bot-info lookup, wait this long before asking again. */
const BOT_INFO_RETRY_MS = 30_000;
/** How many ids of sent messages and handled events are remembered. */
const RECENT_CAPACITY = 2048;

class RecentIds {
  readonly #ids = new Set<string>();
  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > RECENT_CAPACITY) this.#ids.delete(this.#ids.values().next().value!);
  }
  has(id: string): boolean {
    return this.#ids.has(id);
  }
}

/** One Feishu/Lark app: events over the long connection or a webhook, replies through the OpenAPI. */
export class FeishuAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  /** Webhook mode is served by whichever replica the load balancer picks; a connection is leased to one. */
  get receives(): "webhook" | "connection" {
    return this.config.mode === "webhook" ? "webhook" : "connection";
  }
  readonly capabilities: PlatformCapabilities = {
    maxMessageLength: MAX_MESSAGE_LENGTH,
    edit: true,
    // Message update: 5 edits per second per app, and a message may be edited at most 20 times.
    editIntervalMs: 1000,
    typing: false,
    threads: true,
    format: "markdown",
    mediaIn: true,
    mediaOut: { maxBytes: FEISHU_UPLOAD_MAX_BYTES },
    // Bot menus are set in the developer console; there is no API to publish a command list.
    nativeCommands: false,
  };
  readonly config: FeishuAdapterConfig;
  /** The path this app's events arrive on in webhook mode. */
  readonly webhookPath: string;
  /** The OpenAPI client of this account (its own SDK `Client` and token cache). */
  readonly api: FeishuApi;
  #ctx: AdapterContext | undefined;
  #logger: Logger | undefined;
  #bot: BotInfo | undefined;
  #botPending: Promise<BotInfo | undefined> | undefined;
  #botRetryAt = 0;
  #ws: WSClient | undefined;
  #webhook: WebhookHandler | undefined;
  #running = false;
  readonly #sentIds = new RecentIds();
  readonly #eventIds = new RecentIds();

  constructor(config: FeishuAdapterConfig, options: { account?: string } = {}) {
    this.config = config;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.webhookPath = config.webhook_path ?? defaultWebhookPath(this.account);
    this.api = new FeishuApi({
      appId: config.app_id,
      appSecret: config.app_secret,
      baseUrl: baseUrlOf(config),
      logger: this.#log(),
      signal: () => this.#ctx?.signal,
    });
  }

  /** The bot's identity, once known. */
  get bot(): BotInfo | undefined {
    return this.#bot;
  }

  /** A logger that writes to the context's logger once started (the SDK client is built before that). */
  #log(): Logger {
    const get = () => this.#logger;
    const proxy: Logger = {
      debug: (o, m) => get()?.debug(o, m),
      info: (o, m) => get()?.info(o, m),
      warn: (o, m) => get()?.warn(o, m),
      error: (o, m) => get()?.error(o, m),
      child: (b) => get()?.child(b) ?? proxy,
    };
    return proxy;
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.#ctx = ctx;
    this.#logger = ctx.logger;
    // Wrong credentials should fail the start, not the first reply; the bot's open_id is needed for mentions.
    try {
      this.#bot = await this.api.botInfo();
    } catch (err) {
      if (err instanceof AuthError) throw err;
      this.#botRetryAt = Date.now() + BOT_INFO_RETRY_MS;
      this.#logger.warn(
        { err },
        "feishu bot info not available yet; mentions are not recognised until it is",
      );
    }
    this.#running = true;
    if (this.config.mode === "webhook") {
      this.#webhook = createWebhookHandler({
        encryptKey: this.config.encrypt_key,
        verificationToken: this.config.verification_token,
        logger: this.#logger,
        stopped: () => !this.#running,
        onEvent: async ({ eventType, event }) => {
          if (eventType === "im.message.receive_v1") await this.#handle(event as FeishuReceiveEvent);
        },
      });
      ctx.http.route("POST", this.webhookPath, this.#webhook.handler);
      this.#logger.info({ path: this.webhookPath }, "feishu webhook mounted");
    } else {
      try {
        this.#ws = await startLongConnection({
          appId: this.config.app_id,
          appSecret: this.config.app_secret,
          baseUrl: baseUrlOf(this.config),
          logger: this.#logger,
          httpInstance: this.api.httpInstance,
          cache: this.api.cache,
          onMessage: async (data) => {
            const eventId = typeof data.event_id === "string" ? data.event_id : undefined;
            // Feishu redelivers an event it saw no ack for; handle it once.
            if (eventId) {
              if (this.#eventIds.has(eventId)) return;
              this.#eventIds.add(eventId);
            }
            await this.#handle(data as unknown as FeishuReceiveEvent);
          },
        });
      } catch (err) {
        this.#running = false;
        throw err;
      }
      this.#logger.info("feishu long connection up");
    }
  }

  /** The bot's identity, looked up again (at most every 30 s) when start-up could not get it. */
  async #botInfo(): Promise<BotInfo | undefined> {
    if (this.#bot || Date.now() < this.#botRetryAt) return this.#bot;
    this.#botPending ??= this.api
      .botInfo()
      .then((bot) => (this.#bot = bot))
      .catch((err: unknown) => {
        this.#botRetryAt = Date.now() + BOT_INFO_RETRY_MS;
        this.#log().warn({ err }, "feishu bot info still not available");
        return undefined;
      })
      .finally(() => {
        this.#botPending = undefined;
      });
    return this.#botPending;
  }

  async #handle(event: FeishuReceiveEvent): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || !this.#running) return;
    const bot = await this.#botInfo();
    const inbound = normalizeReceive(event, {
      account: this.account,
      botOpenId: bot?.openId,
      isOwnMessage: (id) => this.#sentIds.has(id),
    });
    if (inbound) await ctx.dispatch(inbound);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#ws?.close({ force: true });
    this.#ws = undefined;
    const webhook = this.#webhook;
    if (!webhook) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      webhook.drain(),
      new Promise<void>((r) => (timer = setTimeout(r, DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Reply to the triggering message (in its thread when there is one), or post to the chat. Markdown goes as a
   * `post`; if Feishu refuses the post, the same text goes again as plain `text`.
   */
  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const target = targetOf(address);
    const messageId = await this.#withFallback(message, (msgType, content) =>
      this.api.send(target, msgType, content),
    );
    if (messageId) this.#sentIds.add(messageId);
    return { messageId };
  }

  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    return downloadResource(this.api, media, options);
  }

  /** Upload (image or file), then an `image` / `file` message with its key; a caption follows as text. */
  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const { msgType, content } = await uploadForMessage(this.api, media);
    const messageId = await this.api.send(targetOf(address), msgType, content);
    if (messageId) this.#sentIds.add(messageId);
    if (media.caption) await this.send(address, { text: media.caption, format: "plain" });
    return { messageId };
  }

  async edit(_address: Address, messageId: string, message: OutboundMessage): Promise<void> {
    await this.#withFallback(message, (msgType, content) => this.api.update(messageId, msgType, content));
  }

  async #withFallback<T>(
    message: OutboundMessage,
    call: (msgType: string, content: string) => Promise<T>,
  ): Promise<T> {
    const { msgType, content } = outboundContent(message.text, message.format ?? "markdown");
    try {
      return await call(msgType, content);
    } catch (err) {
      if (msgType !== "post" || !isContentRejection(err)) throw err;
      this.#log().warn({ err }, "feishu refused the rich-text message; sending it as plain text");
      return call("text", JSON.stringify({ text: markdownToPlain(message.text) }));
    }
  }
}

/** A reply to the triggering message (in its thread when there is one), else a new message in the chat. */
function targetOf(address: Address): FeishuTarget {
  return address.replyToMessageId
    ? { replyTo: address.replyToMessageId, inThread: Boolean(address.threadId) }
    : address.threadId
      ? { replyTo: address.threadId, inThread: true }
      : { chatId: address.chatId };
}

/** A permanent refusal of the request itself (bad content), as opposed to limits, credentials or outages. */
function isContentRejection(err: unknown): boolean {
  return (
    err instanceof PlatformError &&
    !(err instanceof RateLimitError) &&
    !(err instanceof AuthError) &&
    !(err instanceof TransientError)
  );
}

/** Build an adapter from a config as written (defaults applied, validated). */
export function createFeishuAdapter(
  config: FeishuAdapterConfigInput,
  options: { account?: string } = {},
): FeishuAdapter {
  return new FeishuAdapter(feishuConfigSchema.parse(config), options);
}

export const platform: PlatformDefinition<typeof feishuConfigSchema> = {
  name: PLATFORM,
  configSchema: feishuConfigSchema,
  credentialKeys: ["app_id", "app_secret"],
  create: (config, { account }) => new FeishuAdapter(config, { account }),
};

export {
  type BotInfo,
  FeishuApi,
  type FeishuApiOptions,
  type FeishuTarget,
  larkLogger,
  TokenCache,
} from "./api.ts";
export { type FeishuFailure, toPlatformError } from "./errors.ts";
export { isRich, markdownToPlain, markdownToPost, outboundContent, parsePost, postToText } from "./format.ts";
export { createHttpInstance, FeishuHttpError } from "./http.ts";
export { type NormalizeContext, normalizeReceive } from "./normalize.ts";
export {
  baseUrlOf,
  DOMAINS,
  defaultWebhookPath,
  type FeishuAdapterConfig,
  type FeishuAdapterConfigInput,
  type FeishuEventEnvelope,
  type FeishuReceiveEvent,
  feishuConfigSchema,
  MAX_MESSAGE_LENGTH,
  PLATFORM,
  type PostContent,
  type PostElement,
} from "./types.ts";
export {
  createWebhookHandler,
  decryptEvent,
  encryptEvent,
  eventSignature,
  FeishuCryptoError,
  MAX_CLOCK_SKEW_MS,
  type VerifiedEvent,
  type WebhookHandler,
  type WebhookOptions,
} from "./webhook.ts";
export { type LongConnectionOptions, startLongConnection } from "./ws.ts";
