import {
  type AdapterContext,
  type Address,
  DEFAULT_ACCOUNT,
  type InboundMedia,
  type InboundMessage,
  type Logger,
  type MediaFile,
  type NativeCommand,
  type OutboundMedia,
  type OutboundMessage,
  type PlatformAdapter,
  type PlatformCapabilities,
  type PlatformDefinition,
  PlatformError,
  type SentMessage,
} from "@switchboard/core";
import {
  type APIMessage,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  DiscordAPIError,
  Events,
  type Message,
  type RESTPostAPIChannelMessageJSONBody,
  Routes,
  ThreadAutoArchiveDuration,
} from "discord.js";
import { componentsOf, normalizeButton } from "./buttons.ts";
import { closeClient, createClient } from "./client.ts";
import { applicationCommands, normalizeCommand } from "./commands.ts";
import { GatewayClosedError, toPlatformError } from "./errors.ts";
import { allowedMentions, renderContent } from "./format.ts";
import { attachmentFiles, DISCORD_UPLOAD_MAX_BYTES, downloadAttachment } from "./media.ts";
import { type BotIdentity, normalizeMessage } from "./normalize.ts";
import { type DiscordAdapterConfig, discordConfigSchema, MAX_MESSAGE_LENGTH, PLATFORM } from "./types.ts";

export { closeClient, createClient, DEFAULT_API_URL, surfaceRateLimits } from "./client.ts";
export { applicationCommands, normalizeCommand } from "./commands.ts";
export { GatewayClosedError, toPlatformError } from "./errors.ts";
export { allowedMentions, markdownToDiscord, neutralizeMassMentions, renderContent } from "./format.ts";
export {
  type BotIdentity,
  type ChatPlace,
  mentionsBot,
  normalizeMessage,
  placeOf,
  stripBotMention,
} from "./normalize.ts";
export {
  type DiscordAdapterConfig,
  type DiscordAdapterConfigInput,
  discordConfigSchema,
  MAX_MESSAGE_LENGTH,
  PLATFORM,
} from "./types.ts";

/** How long `start()` waits for the gateway session (READY plus every guild) before giving up. */
const READY_TIMEOUT_MS = 60_000;
/** Discord caps thread names at 100 characters. */
const THREAD_NAME_MAX = 80;
/** "A thread has already been created for this message": its id is the message id. */
const THREAD_ALREADY_CREATED = 160004;

export interface DiscordAdapterOptions {
  /** The account name (`accounts.<name>`); default `"default"`. */
  account?: string;
  /** Override the wait for the gateway session in `start()` (tests). */
  readyTimeoutMs?: number;
}

/** One Discord bot account: gateway WebSocket in, REST out. */
export class DiscordAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  readonly capabilities: PlatformCapabilities = {
    maxMessageLength: MAX_MESSAGE_LENGTH,
    edit: true,
    typing: true,
    threads: true,
    format: "markdown",
    mediaIn: true,
    mediaOut: { maxBytes: DISCORD_UPLOAD_MAX_BYTES },
    nativeCommands: true,
  };
  readonly config: DiscordAdapterConfig;
  readonly #readyTimeoutMs: number;
  #client: Client | undefined;
  #closing: Promise<void> | undefined;
  #ctx: AdapterContext | undefined;
  #log: Logger | undefined;
  /** Per-channel tail of in-flight dispatches, so messages of one chat reach core in the order they were sent. */
  readonly #chains = new Map<string, Promise<void>>();

  constructor(config: DiscordAdapterConfig, options: DiscordAdapterOptions = {}) {
    this.config = config;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  }

  /** The discord.js client (created on first use; replaced after `stop()`). */
  get client(): Client {
    this.#client ??= createClient(this.config);
    return this.#client;
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.#ctx = ctx;
    const log = ctx.logger;
    this.#log = log;
    const client = this.client;
    client.on(Events.MessageCreate, (message) => this.#onMessage(message));
    client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isButton()) void this.#onButton(interaction);
      else if (interaction.isChatInputCommand()) void this.#onCommand(interaction);
    });
    client.on(Events.ShardDisconnect, (event, shard) =>
      log.warn({ shard, code: event.code }, "discord gateway disconnected and will not reconnect"),
    );
    client.on(Events.ShardReconnecting, (shard) => log.warn({ shard }, "discord gateway reconnecting"));
    client.on(Events.ShardResume, (shard, replayed) =>
      log.info({ shard, replayed }, "discord gateway resumed"),
    );
    client.on(Events.ShardError, (error, shard) => log.warn({ shard, err: error }, "discord gateway error"));
    client.on(Events.Warn, (message) => log.warn(message));
    client.on(Events.Error, (error) => log.error({ err: error }, "discord client error"));

    try {
      await this.#connect(client, ctx.signal);
    } catch (error) {
      await this.stop();
      throw toPlatformError(error, "login");
    }
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, "discord connected");
    ctx.signal.addEventListener("abort", () => void this.stop(), { once: true });
  }

  /** Log in and wait for ClientReady, bounded by the ready timeout and the gateway's abort signal. */
  async #connect(client: Client, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let onFatal: ((event: { code: number }) => void) | undefined;
    const gate = new Promise<void>((resolve, reject) => {
      client.once(Events.ClientReady, () => resolve());
      onFatal = (event) => reject(new GatewayClosedError(event.code));
      client.once(Events.ShardDisconnect, onFatal);
      timer = setTimeout(
        () =>
          reject(
            new PlatformError(PLATFORM, `discord gateway not ready after ${this.#readyTimeoutMs} ms`, {
              retryable: true,
            }),
          ),
        this.#readyTimeoutMs,
      );
      onAbort = () => reject(new PlatformError(PLATFORM, "discord start aborted"));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.all([client.login(this.config.token), gate]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
      if (onFatal) client.off(Events.ShardDisconnect, onFatal);
    }
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    // A stop already under way (abort signal, then the gateway's own stop()) is awaited, not skipped.
    if (client) this.#closing = closeClient(client).finally(() => (this.#closing = undefined));
    await this.#closing;
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const channelId = address.threadId ?? address.chatId;
    const body: RESTPostAPIChannelMessageJSONBody = {
      content: renderContent(message),
      allowed_mentions: allowedMentions(),
    };
    const components = componentsOf(message);
    if (components) (body as { components?: unknown[] }).components = components;
    // A thread opened from a message has that message's id, and shows it on top already. Only the first
    // chunk of a split reply quotes the message.
    // A button press or slash command (`interaction:<id>`) has no message to quote.
    if (
      address.replyToMessageId &&
      /^\d+$/.test(address.replyToMessageId) &&
      address.replyToMessageId !== channelId &&
      (message.part?.index ?? 0) === 0
    ) {
      body.message_reference = { message_id: address.replyToMessageId, fail_if_not_exists: false };
    }
    try {
      const sent = (await this.client.rest.post(Routes.channelMessages(channelId), { body })) as APIMessage;
      return { messageId: sent.id };
    } catch (error) {
      throw toPlatformError(error, "send");
    }
  }

  async edit(address: Address, messageId: string, message: OutboundMessage): Promise<void> {
    const channelId = address.threadId ?? address.chatId;
    try {
      await this.client.rest.patch(Routes.channelMessage(channelId, messageId), {
        body: { content: renderContent(message), allowed_mentions: { parse: allowedMentions().parse } },
      });
    } catch (error) {
      throw toPlatformError(error, "edit");
    }
  }

  async typing(address: Address): Promise<void> {
    try {
      await this.client.rest.post(Routes.channelTyping(address.threadId ?? address.chatId));
    } catch (error) {
      throw toPlatformError(error, "typing");
    }
  }

  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    return downloadAttachment(media, {
      ...options,
      ...(this.config.api_url ? { apiUrl: this.config.api_url } : {}),
    });
  }

  /** A message carrying the file as an attachment (multipart `payload_json` + `files[0]`); the caption is its text. */
  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const channelId = address.threadId ?? address.chatId;
    const body: RESTPostAPIChannelMessageJSONBody = {
      allowed_mentions: allowedMentions(),
      ...(media.caption ? { content: media.caption.slice(0, MAX_MESSAGE_LENGTH) } : {}),
    };
    try {
      const sent = (await this.client.rest.post(Routes.channelMessages(channelId), {
        body,
        files: attachmentFiles(media),
      })) as APIMessage;
      return { messageId: sent.id };
    } catch (error) {
      throw toPlatformError(error, "send");
    }
  }

  /** Global application commands (the `/` menu); each runs as the command text typed in its channel. */
  async setCommands(commands: readonly NativeCommand[]): Promise<void> {
    const client = this.client;
    const appId = client.application?.id ?? client.user?.id;
    if (!appId) throw new PlatformError(PLATFORM, "discord: setCommands before the gateway session is ready");
    try {
      await client.rest.put(Routes.applicationCommands(appId), { body: applicationCommands(commands) });
    } catch (error) {
      throw toPlatformError(error, "commands");
    }
  }

  /** A slash command: acknowledge it with the command as typed, then hand core the text. */
  async #onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || ctx.signal.aborted) return;
    const inbound = normalizeCommand(interaction, this.account);
    try {
      // Discord wants an answer within 3 s; the agent's reply follows as a message in the channel.
      await interaction.reply({ content: inbound.text, allowedMentions: { parse: [] } });
    } catch (err) {
      this.#log?.debug({ err }, "discord: could not acknowledge a slash command");
    }
    try {
      await ctx.dispatch(inbound);
    } catch (err) {
      this.#log?.error({ err }, "discord: dispatching a slash command failed");
    }
  }

  /** A button press (approval prompts): acknowledge it, then hand core the command it carries. */
  async #onButton(interaction: ButtonInteraction): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || ctx.signal.aborted) return;
    const inbound = normalizeButton(interaction, this.account);
    if (!inbound) return;
    try {
      await interaction.deferUpdate();
    } catch (err) {
      this.#log?.debug({ err }, "discord: could not acknowledge a button press");
    }
    try {
      await ctx.dispatch(inbound);
    } catch (err) {
      this.#log?.error({ err }, "discord: dispatching a button press failed");
    }
  }

  #onMessage(message: Message): void {
    if (message.system) return;
    const me = message.client.user;
    const isSelf = message.author.id === me.id;
    // Other bots (webhooks included) only when allowed; the bot's own messages go to core flagged `isSelf`.
    if (!isSelf && message.author.bot && !this.config.allow_bots) return;
    const bot: BotIdentity = { account: this.account, id: me.id, name: me.displayName };
    const key = message.channelId;
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#deliver(message, bot));
    this.#chains.set(key, next);
    void next.finally(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
  }

  async #deliver(message: Message, bot: BotIdentity): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || ctx.signal.aborted) return;
    try {
      let inbound = normalizeMessage(message, bot);
      if (
        this.config.auto_thread &&
        !inbound.isSelf &&
        inbound.chat.type === "group" &&
        inbound.mentionsBot
      ) {
        inbound = await this.#moveToThread(message, inbound);
      }
      await ctx.dispatch(inbound);
    } catch (error) {
      this.#log?.error(
        { err: error, messageId: message.id, channelId: message.channelId },
        "discord dispatch failed",
      );
    }
  }

  /** `auto_thread`: open a thread from the mentioning message; the conversation (and its session) lives there. */
  async #moveToThread(message: Message, inbound: InboundMessage): Promise<InboundMessage> {
    const name = threadName(inbound);
    let threadId: string;
    try {
      const thread = await message.startThread({
        name,
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
      });
      threadId = thread.id;
    } catch (error) {
      // A redelivered message (gateway resume) already has its thread.
      if (error instanceof DiscordAPIError && error.code === THREAD_ALREADY_CREATED) threadId = message.id;
      else {
        this.#log?.warn(
          { err: toPlatformError(error, "thread create"), messageId: message.id },
          "auto_thread failed; replying in the channel",
        );
        return inbound;
      }
    }
    return {
      ...inbound,
      chat: { id: threadId, type: "thread", name },
      threadId,
      parentChatId: inbound.chat.id,
    };
  }
}

/** The thread title: the first line of the question, shortened; the asker's name when there is no text. */
function threadName(inbound: InboundMessage): string {
  const first = inbound.text.split("\n", 1)[0]?.trim() ?? "";
  const base = first || `${inbound.user.name ?? "conversation"}`;
  return base.length > THREAD_NAME_MAX ? `${base.slice(0, THREAD_NAME_MAX - 1)}…` : base;
}

/** Create the adapter for one Discord bot account. */
export function createDiscordAdapter(
  config: DiscordAdapterConfig,
  options: DiscordAdapterOptions = {},
): DiscordAdapter {
  return new DiscordAdapter(config, options);
}

/** The `discord` platform: config schema and factory, as the gateway loads it. */
export const platform: PlatformDefinition<typeof discordConfigSchema> = {
  name: PLATFORM,
  configSchema: discordConfigSchema,
  create: (config, { account }) => createDiscordAdapter(config, { account }),
};
