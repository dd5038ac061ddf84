import type { z } from "zod";
import type { Logger } from "./logger.ts";

/** How a chat is shaped; the vocabulary of session keys and routes. */
export type ChatType = "dm" | "group" | "channel" | "thread";

/** The account name of a platform section's shorthand (`token:` at section level). */
export const DEFAULT_ACCOUNT = "default";

export interface InboundMedia {
  kind: "image" | "audio" | "video" | "file";
  /** A URL the platform gave (it may carry a token: only the adapter's `downloadMedia` ever reads it). */
  url?: string;
  mimeType?: string;
  name?: string;
  /** Size in bytes when the platform says it before download. */
  size?: number;
  /** `true` for a recorded voice note (an `audio` the user spoke, to transcribe). */
  voice?: boolean;
  /**
   * The adapter's own handle on the file (a Telegram `file_id`, a Feishu `image_key`, a Matrix `mxc://` URI):
   * opaque to core, passed back to `downloadMedia`. Never shown to a model or a provider.
   */
  ref?: string;
}

/** A file's bytes, as downloaded from a platform or read from an agent's home to upload. */
export interface MediaFile {
  data: Uint8Array;
  mimeType: string;
  /** A file name for the platform and the model (`photo.jpg`), never a server path. */
  name: string;
}

/** A file to send into a chat (`sendMedia`): an image shows inline where the platform can, others as files. */
export interface OutboundMedia extends MediaFile {
  kind: "image" | "audio" | "video" | "file";
  /** Text shown with the file, where the platform has captions. */
  caption?: string;
}

/** A chat command as a platform's native menu shows it (Telegram `setMyCommands`, Discord slash commands). */
export interface NativeCommand {
  /** Without the slash, lowercase: `model`. */
  name: string;
  /** One line. */
  description: string;
}

/** A message received by an adapter, normalized. The adapter owns producing it; core owns everything after. */
export interface InboundMessage {
  platform: string;
  /** The account (bot) that received the message; `"default"` for the default account. */
  account: string;
  /** The platform's message id: dedupe key together with platform and account. */
  messageId: string;
  chat: { id: string; type: ChatType; name?: string };
  /** Forum topic / Discord thread / Slack thread_ts / Matrix thread root. */
  threadId?: string;
  topicId?: string;
  parentChatId?: string;
  guildId?: string;
  user: { id: string; name?: string; isBot?: boolean; idAlt?: string };
  text: string;
  /** The bot was mentioned (or replied to) in this message. */
  mentionsBot?: boolean;
  /** The message was sent by this very bot account; core ignores it. */
  isSelf?: boolean;
  replyTo?: { messageId: string; text?: string; fromBot?: boolean };
  media?: InboundMedia[];
  /** Epoch milliseconds when the platform says it was sent. */
  timestamp?: number;
}

/** Where a reply goes: the same platform account, chat and thread a message came in on. */
export interface Address {
  platform: string;
  account: string;
  chatId: string;
  chatType?: ChatType;
  threadId?: string;
  /** The message this reply answers, for platforms that thread replies to a message. */
  replyToMessageId?: string;
}

export interface OutboundMessage {
  text: string;
  /** `markdown` (the agent's output, converted by the adapter) or `plain` (sent as is). */
  format?: "markdown" | "plain";
  /**
   * Which chunk of a split reply this is. Every chunk carries the address's `replyToMessageId`; an adapter
   * that quotes the user's message once (Discord, Telegram's `reply_to_mode: first`) quotes on index 0.
   */
  part?: { index: number; count: number };
  /**
   * Buttons under the message (approval prompts). Each sends `command` back as if the user had typed it;
   * an adapter without buttons ignores them (the text always says what to type).
   */
  actions?: OutboundAction[];
}

export interface OutboundAction {
  label: string;
  /** The text the gateway receives when the button is pressed, e.g. `/approve 3f9a1c`. */
  command: string;
  style?: "primary" | "danger";
}

export interface SentMessage {
  messageId: string;
}

/** What an adapter can do, as data: core branches on it without probing. */
export interface PlatformCapabilities {
  /** The longest text one message may carry, counted in `lengthUnit`. */
  maxMessageLength: number;
  /** How `maxMessageLength` counts: UTF-16 code units (JS string length, default) or UTF-8 bytes. */
  lengthUnit?: "utf16" | "bytes";
  edit: boolean;
  typing: boolean;
  threads: boolean;
  /** The platform's text dialect the adapter converts Markdown to. */
  format: "markdown" | "html" | "mrkdwn" | "plain";
  /**
   * The shortest interval between two edits of one message the platform tolerates (streaming replies edit
   * in place no faster than this); default 1000 ms. Only meaningful with `edit`.
   */
  editIntervalMs?: number;
  /** `downloadMedia` works for this account's inbound `media`. */
  mediaIn?: boolean;
  /** `sendMedia` works; the largest upload in bytes the platform takes from a bot. */
  mediaOut?: { maxBytes: number };
  /** `setCommands` publishes a native command menu. */
  nativeCommands?: boolean;
}

export type HttpHandler = (request: Request) => Response | Promise<Response>;

/** Routes on the gateway's single HTTP listener, for webhook-mode platforms. */
export interface HttpRoutes {
  /** Mount `handler` at `path` (exact match) for `method` (`"POST"`, `"GET"`, or `"*"` for any). */
  route(method: string, path: string, handler: HttpHandler): void;
}

export interface AdapterContext {
  /** Hand an inbound message to core. Resolves when core has accepted it (not when the turn ends). */
  dispatch(inbound: InboundMessage): Promise<void>;
  logger: Logger;
  /** Aborted when the gateway stops the adapter. */
  signal: AbortSignal;
  http: HttpRoutes;
  /**
   * Report the account's connection state (`/health/ready`, metrics): `reconnecting` with a reason while
   * the platform is unreachable, `connected` once it is back, `failed` when the adapter gave up.
   */
  reportStatus?(state: "connected" | "reconnecting" | "failed", reason?: string): void;
  /**
   * A directory for small durable adapter state (a poll offset), when the gateway provides one. Shared by all
   * adapters, so name files by platform and account (or bot id).
   */
  stateDir?: string;
  /**
   * Small durable adapter state in the shared store (a poll offset, a sync token), given when several replicas
   * share one database: the replica that takes an account over resumes from it. Preferred over `stateDir`.
   */
  state?: AdapterStateStore;
}

/** Keyed strings in the shared store; name keys by platform and account (or bot id). */
export interface AdapterStateStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/**
 * What `start` may report when receiving is set up but the platform could not be reached yet (the adapter
 * keeps retrying): the gateway then logs that the account is not connected instead of "connected".
 */
export interface AdapterStartResult {
  connected: false;
  reason: string;
}

/** One connected platform account. */
export interface PlatformAdapter {
  readonly platform: string;
  readonly account: string;
  readonly capabilities: PlatformCapabilities;
  /**
   * How this account receives: `webhook` over the gateway's HTTP listener (any replica serves it), or
   * `connection` (default) that one process holds — long polling, a WebSocket — leased to one replica at a time.
   */
  readonly receives?: "webhook" | "connection";
  /**
   * True when the account sends only over the connection it receives on (Yuanbao's WebSocket): a replica
   * standing by for it forwards text sends to the holder through the store's outbox. Default false: sends
   * are API calls any replica makes.
   */
  readonly sendsOverConnection?: boolean;
  /** `ctx.logger` already carries `platform` and `account`: log through it without binding them again. */
  // biome-ignore lint/suspicious/noConfusingVoidType: most adapters resolve with nothing (`Promise<void>`).
  start(ctx: AdapterContext): Promise<void | AdapterStartResult>;
  stop(): Promise<void>;
  send(address: Address, message: OutboundMessage): Promise<SentMessage>;
  edit?(address: Address, messageId: string, message: OutboundMessage): Promise<void>;
  typing?(address: Address): Promise<void>;
  /**
   * Fetch an inbound file through the platform API with this account's credentials. Refuses (throws) past
   * `maxBytes` without buffering the rest; honours `signal`. Tokenised URLs stay inside the adapter.
   */
  downloadMedia?(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile>;
  /** Upload a file into the chat of `address` (photo, document, attachment) with the platform's SDK. */
  sendMedia?(address: Address, media: OutboundMedia): Promise<SentMessage>;
  /** Publish the gateway's command table as the platform's native command menu for this account. */
  setCommands?(commands: readonly NativeCommand[]): Promise<void>;
}

/**
 * What an adapter package exports as `platform`. `configSchema` validates the merged config of one
 * account (section-level keys overlaid with `accounts.<name>`); build it with `platformConfigSchema`.
 */
export interface PlatformDefinition<Schema extends z.ZodType = z.ZodType> {
  name: string;
  configSchema: Schema;
  /**
   * Keys that identify one bot account besides `*token` / `*password` (e.g. `app_id`): set at section
   * level they belong to the `default` account, and a named account never inherits them.
   */
  credentialKeys?: readonly string[];
  create(config: z.output<Schema>, options: { account: string }): PlatformAdapter;
}
