import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type {
  AdapterContext,
  AdapterStartResult,
  Address,
  InboundMedia,
  Logger,
  MediaFile,
  NativeCommand,
  OutboundMedia,
  OutboundMessage,
  PlatformAdapter,
  PlatformCapabilities,
  PlatformDefinition,
  SentMessage,
} from "@switchboard/core";
import { AuthError, DEFAULT_ACCOUNT, PlatformError, silentLogger } from "@switchboard/core";
import { Api } from "grammy";
import type { Update } from "grammy/types";
import { EntityParseError, isNotModified, PLATFORM, toPlatformError } from "./errors.ts";
import { markdownToPlainText, markdownToTelegramHtml } from "./format.ts";
import {
  downloadTelegramFile,
  sendTelegramMedia,
  TELEGRAM_UPLOAD_MAX_BYTES,
  telegramCommands,
} from "./media.ts";
import { ALLOWED_UPDATES, GENERAL_TOPIC, messageIdOf, normalizeUpdate } from "./normalize.ts";
import { OffsetStore, SharedOffsetStore } from "./offset-store.ts";
import { grammySignal, Poller } from "./polling.ts";
import { type BotIdentity, type TelegramAdapterConfig, telegramConfigSchema } from "./types.ts";
import { telegramWebhookHandler } from "./webhook.ts";

export { EntityParseError, toPlatformError } from "./errors.ts";
export { escapeHtml, markdownToPlainText, markdownToTelegramHtml } from "./format.ts";
export { mediaOf, sendMethodOf, TELEGRAM_DOWNLOAD_MAX_BYTES, TELEGRAM_UPLOAD_MAX_BYTES } from "./media.ts";
export { ALLOWED_UPDATES, GENERAL_TOPIC, messageIdOf, normalizeUpdate } from "./normalize.ts";
export { type BotIdentity, type TelegramAdapterConfig, telegramConfigSchema } from "./types.ts";
export { SECRET_HEADER, telegramWebhookHandler } from "./webhook.ts";

/** 4,096 characters after entity parsing, counted in UTF-16 code units. */
export const TELEGRAM_CAPABILITIES: PlatformCapabilities = Object.freeze({
  maxMessageLength: 4096,
  lengthUnit: "utf16",
  edit: true,
  // Telegram allows about one edit per second in a chat (and 20 messages a minute in a group).
  editIntervalMs: 1000,
  typing: true,
  threads: true,
  format: "html",
  mediaIn: true,
  mediaOut: { maxBytes: TELEGRAM_UPLOAD_MAX_BYTES },
  nativeCommands: true,
});

/** How many answered message ids `reply_to_mode: first` remembers. */
const REPLIED_MEMORY = 2048;
/** The HTTP timeout of one Bot API call beyond the long-poll wait. */
const CALL_TIMEOUT_S = 30;

type SendOptions = Record<string, unknown>;

/** One Telegram bot account: long polling or webhook in, Bot API calls out, through grammY's `Api`. */
export class TelegramAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  /** Webhook mode is served by whichever replica the load balancer picks; a connection is leased to one. */
  get receives(): "webhook" | "connection" {
    return this.config.mode === "webhook" ? "webhook" : "connection";
  }
  readonly capabilities = TELEGRAM_CAPABILITIES;
  readonly config: TelegramAdapterConfig;
  readonly api: Api;
  readonly #apiRoot: string;
  readonly #agent: HttpAgent;
  #logger: Logger = silentLogger();
  #identity: Promise<BotIdentity> | undefined;
  #poller: Poller | undefined;
  /** Messages already answered with a quoting chunk (`reply_to_mode: first`); insertion-ordered for eviction. */
  readonly #replied = new Set<string>();

  constructor(config: TelegramAdapterConfig, options: { account?: string } = {}) {
    this.config = config;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    const apiRoot = config.api_url ?? "https://api.telegram.org";
    this.#apiRoot = apiRoot;
    // An agent per adapter (grammY's default is shared per apiRoot) so `stop()` can close its sockets.
    this.#agent = apiRoot.startsWith("https:")
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
    this.api = new Api(config.token, {
      apiRoot,
      timeoutSeconds: config.poll_timeout_s + CALL_TIMEOUT_S,
      baseFetchConfig: { agent: this.#agent },
    });
    if (config.bot_id && config.bot_username) {
      this.#identity = Promise.resolve({ id: config.bot_id, username: config.bot_username });
    }
  }

  /** The bot's id and @username: from config, else `getMe` (retried on the next call after a failure). */
  identity(): Promise<BotIdentity> {
    this.#identity ??= this.api.getMe().then(
      (me) => ({ id: String(me.id), username: me.username }),
      (err) => {
        this.#identity = undefined;
        throw toPlatformError(err);
      },
    );
    return this.#identity;
  }

  async start(ctx: AdapterContext): Promise<AdapterStartResult | undefined> {
    this.#logger = ctx.logger;
    let unreachable: string | undefined;
    try {
      await this.identity();
    } catch (err) {
      // A wrong token will not fix itself; an unreachable API may, so polling keeps trying.
      if (err instanceof AuthError) {
        throw new AuthError(
          PLATFORM,
          `telegram account "${this.account}": the Bot API rejected the token (${err.message}); check TELEGRAM_BOT_TOKEN`,
          { status: err.status, cause: err },
        );
      }
      unreachable = `the Bot API is unreachable (${(err as Error).message}); retrying`;
    }
    const result: AdapterStartResult | undefined = unreachable
      ? { connected: false, reason: unreachable }
      : undefined;
    const handle = (update: Update) => this.#handle(update, ctx);
    if (this.config.mode === "webhook") {
      const path = this.config.webhook_path ?? `/telegram/${this.account}`;
      ctx.http.route(
        "POST",
        path,
        telegramWebhookHandler({ secret: this.config.webhook_secret!, logger: this.#logger, handle }),
      );
      if (this.config.webhook_url) {
        try {
          await this.api.setWebhook(this.config.webhook_url, {
            secret_token: this.config.webhook_secret,
            allowed_updates: [...ALLOWED_UPDATES],
          });
        } catch (err) {
          // A refused URL or token is a config problem; an unreachable API keeps the webhook set last time.
          const error = toPlatformError(err);
          if (!error.retryable) throw error;
          this.#logger.warn(
            { err: error.message },
            "Telegram setWebhook failed; keeping the previous webhook",
          );
        }
      }
      this.#logger.info({ path }, "Telegram webhook mounted");
      return result;
    }
    const poller = new Poller({
      api: this.api,
      timeoutSeconds: this.config.poll_timeout_s,
      logger: this.#logger,
      handle,
      report: (state, reason) => ctx.reportStatus?.(state, reason),
      prepare: async (signal) => {
        const bot = await this.identity();
        // getUpdates answers 409 while a webhook is set.
        await this.api.deleteWebhook({ drop_pending_updates: false }, grammySignal(signal));
        if (ctx.state) return new SharedOffsetStore(ctx.state, bot.id);
        return ctx.stateDir ? new OffsetStore(ctx.stateDir, bot.id) : undefined;
      },
    });
    this.#poller = poller;
    ctx.signal.addEventListener("abort", () => poller.abort(), { once: true });
    poller.start();
    this.#logger.info("Telegram long polling started");
    return result;
  }

  async stop(): Promise<void> {
    const poller = this.#poller;
    this.#poller = undefined;
    await poller?.stop();
    this.#agent.destroy();
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const options: SendOptions = this.#threadOptions(address);
    const reply = this.#replyTarget(address);
    const keyboard = inlineKeyboard(message);
    if (keyboard) options.reply_markup = keyboard;
    if (reply) options.reply_parameters = { message_id: reply.messageId, allow_sending_without_reply: true };
    const sent = await this.#withFormat(message, (text, format) =>
      this.api.sendMessage(chatIdOf(address.chatId), text, { ...options, ...format }),
    );
    if (reply) this.#remember(reply.key);
    return { messageId: String(sent.message_id) };
  }

  async edit(address: Address, messageId: string, message: OutboundMessage): Promise<void> {
    const id = messageIdOf(messageId);
    if (id === undefined) throw new PlatformError(PLATFORM, `not a Telegram message id: ${messageId}`);
    try {
      await this.#withFormat(message, (text, format) =>
        this.api.editMessageText(chatIdOf(address.chatId), id, text, format),
      );
    } catch (err) {
      if (!isNotModified((err as Error).cause)) throw err;
    }
  }

  async typing(address: Address): Promise<void> {
    try {
      await this.api.sendChatAction(chatIdOf(address.chatId), "typing", this.#threadOptions(address));
    } catch (err) {
      throw toPlatformError(err);
    }
  }

  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    return downloadTelegramFile(this.api, this.#apiRoot, this.config.token, media, options);
  }

  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const sent = await sendTelegramMedia(
      this.api,
      chatIdOf(address.chatId),
      media,
      this.#threadOptions(address),
    );
    return { messageId: String(sent.message_id) };
  }

  async setCommands(commands: readonly NativeCommand[]): Promise<void> {
    try {
      await this.api.setMyCommands(telegramCommands(commands));
    } catch (err) {
      throw toPlatformError(err);
    }
  }

  async #handle(update: Update, ctx: AdapterContext): Promise<void> {
    const inbound = normalizeUpdate(update, await this.identity(), this.account);
    if (update.callback_query) {
      // Stop the button's spinner whatever becomes of the press; a failure here only costs the animation.
      this.api
        .answerCallbackQuery(update.callback_query.id)
        .catch((err: unknown) => this.#logger.debug({ err }, "answerCallbackQuery failed"));
    }
    if (inbound) await ctx.dispatch(inbound);
  }

  /** Send as Telegram HTML; when Telegram rejects the entities, once more as plain text. */
  async #withFormat<T>(
    message: OutboundMessage,
    call: (text: string, format: SendOptions) => Promise<T>,
  ): Promise<T> {
    if (message.format === "plain") return call(message.text, {}).catch(rethrow);
    try {
      return await call(markdownToTelegramHtml(message.text), { parse_mode: "HTML" });
    } catch (err) {
      const error = toPlatformError(err);
      if (!(error instanceof EntityParseError)) throw error;
      this.#logger.warn({ err: error.message }, "Telegram rejected the HTML; sending plain text");
      return call(markdownToPlainText(message.text), {}).catch(rethrow);
    }
  }

  /** Replies stay in their forum topic; the General topic ("1") takes no thread id. */
  #threadOptions(address: Address): SendOptions {
    const thread = address.threadId;
    if (!thread || thread === GENERAL_TOPIC) return {};
    const id = Number(thread);
    return Number.isSafeInteger(id) ? { message_thread_id: id } : {};
  }

  /**
   * Whether this chunk quotes the user's message. Core passes `replyToMessageId`; `off` never uses it,
   * `all` always does, `first` only until one send quoting that message succeeded.
   */
  #replyTarget(address: Address): { messageId: number; key: string } | undefined {
    const mode = this.config.reply_to_mode;
    if (mode === "off" || !address.replyToMessageId) return undefined;
    const messageId = messageIdOf(address.replyToMessageId);
    if (messageId === undefined) return undefined;
    const key = `${address.chatId}:${messageId}`;
    if (mode === "first" && this.#replied.has(key)) return undefined;
    return { messageId, key };
  }

  #remember(key: string): void {
    if (this.config.reply_to_mode !== "first") return;
    this.#replied.add(key);
    if (this.#replied.size > REPLIED_MEMORY) this.#replied.delete(this.#replied.values().next().value!);
  }
}

/** Buttons under the last chunk of a message: one row, each sending its command back as callback data. */
function inlineKeyboard(
  message: OutboundMessage,
): { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> } | undefined {
  if (!message.actions?.length) return undefined;
  if (message.part && message.part.index !== message.part.count - 1) return undefined;
  // Telegram caps callback_data at 64 bytes; a longer command stays typed-only.
  const row = message.actions
    .filter((a) => Buffer.byteLength(a.command, "utf8") <= 64)
    .map((a) => ({ text: a.label, callback_data: a.command }));
  return row.length ? { inline_keyboard: [row] } : undefined;
}

function rethrow(err: unknown): never {
  throw toPlatformError(err);
}

/** Numeric chat ids go on the wire as numbers; `@channelusername` stays a string. */
function chatIdOf(chatId: string): number | string {
  const n = Number(chatId);
  return /^-?\d+$/.test(chatId) && Number.isSafeInteger(n) ? n : chatId;
}

/** One adapter per bot account; `account` defaults to `"default"`. */
export function createTelegramAdapter(
  config: TelegramAdapterConfig,
  options: { account?: string } = {},
): TelegramAdapter {
  return new TelegramAdapter(config, options);
}

export const platform: PlatformDefinition<typeof telegramConfigSchema> = {
  name: PLATFORM,
  configSchema: telegramConfigSchema,
  credentialKeys: ["bot_id", "bot_username"],
  create: (config, { account }) => createTelegramAdapter(config, { account }),
};
