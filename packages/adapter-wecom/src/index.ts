import {
  type AdapterContext,
  type AdapterStartResult,
  type Address,
  AuthError,
  DEFAULT_ACCOUNT,
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaTooLarge,
  type OutboundMedia,
  type OutboundMessage,
  type PlatformAdapter,
  type PlatformCapabilities,
  type PlatformDefinition,
  type SentMessage,
} from "@switchboard/core";
import { WecomApi, type WecomTarget } from "./api.ts";
import { aesKeyOf } from "./crypto.ts";
import { markdownToPlain, splitUtf8 } from "./format.ts";
import { normalizeMessage } from "./normalize.ts";
import {
  defaultCallbackPath,
  MAX_MESSAGE_BYTES,
  PLATFORM,
  type WecomAdapterConfig,
  type WecomAdapterConfigInput,
  type WecomMessageFields,
  wecomConfigSchema,
} from "./types.ts";
import { type CallbackHandlers, createCallbackHandlers } from "./webhook.ts";

/** How long `stop()` waits for callbacks already accepted to reach core. */
const DRAIN_TIMEOUT_MS = 5_000;

/** One WeCom self-built app: receives its encrypted callbacks on the gateway's listener, replies via `message/send`. */
export class WecomAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  /** Served over the HTTP listener by whichever replica the load balancer picks. */
  readonly receives = "webhook" as const;
  readonly capabilities: PlatformCapabilities = {
    maxMessageLength: MAX_MESSAGE_BYTES,
    lengthUnit: "bytes",
    edit: false,
    typing: false,
    threads: false,
    format: "plain",
    mediaIn: true,
    mediaOut: { maxBytes: WECOM_UPLOAD_MAX_BYTES },
    // App menus are configured in the admin console, not by API calls of the app.
    nativeCommands: false,
  };
  readonly config: WecomAdapterConfig;
  /** The path this app's callbacks arrive on. */
  readonly callbackPath: string;
  readonly #api: WecomApi;
  readonly #key: Buffer;
  /** Chats seen as app group chats, so a reply without a `chatType` still goes to `appchat/send`. */
  readonly #groups = new Set<string>();
  #ctx: AdapterContext | undefined;
  #handlers: CallbackHandlers | undefined;
  #running = false;

  constructor(config: WecomAdapterConfig, options: { account?: string } = {}) {
    this.config = config;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.callbackPath = config.callback_path ?? defaultCallbackPath(this.account);
    this.#key = aesKeyOf(config.encoding_aes_key);
    this.#api = new WecomApi({
      apiUrl: config.api_url,
      corpId: config.corp_id,
      corpSecret: config.corp_secret,
      agentId: config.agent_id,
      signal: () => this.#ctx?.signal,
    });
  }

  async start(ctx: AdapterContext): Promise<AdapterStartResult | undefined> {
    this.#ctx = ctx;
    const logger = ctx.logger;
    let unreachable: string | undefined;
    // Fetch a token now so wrong credentials fail the start, not the first reply.
    try {
      await this.#api.accessToken();
    } catch (err) {
      if (err instanceof AuthError) throw err;
      unreachable = `no access token yet (${(err as Error).message}); retrying on the first reply`;
    }
    this.#handlers = createCallbackHandlers({
      token: this.config.token,
      key: this.#key,
      corpId: this.config.corp_id,
      logger,
      stopped: () => !this.#running,
      onMessage: (fields) => this.#handle(fields),
    });
    ctx.http.route("GET", this.callbackPath, this.#handlers.get);
    ctx.http.route("POST", this.callbackPath, this.#handlers.post);
    this.#running = true;
    logger.info({ path: this.callbackPath }, "wecom callback mounted");
    return unreachable ? { connected: false, reason: unreachable } : undefined;
  }

  async #handle(fields: WecomMessageFields): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx || !this.#running) return;
    if (fields.AgentID && Number(fields.AgentID) !== this.config.agent_id) {
      ctx.logger.warn({ agentId: fields.AgentID }, "wecom callback for another AgentId ignored");
      return;
    }
    const inbound = normalizeMessage(fields, this.account);
    if (!inbound) return;
    if (inbound.chat.type === "group") this.#groups.add(inbound.chat.id);
    await ctx.dispatch(inbound);
  }

  async stop(): Promise<void> {
    this.#running = false;
    const handlers = this.#handlers;
    if (!handlers) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      handlers.drain(),
      new Promise<void>((r) => (timer = setTimeout(r, DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    if (!media.ref)
      return Promise.reject(new MediaError("media_download_failed", "the message has no MediaId"));
    if (media.size !== undefined && media.size > options.maxBytes)
      return Promise.reject(mediaTooLarge(options.maxBytes, media.size));
    return this.#api.download(media.ref, {
      maxBytes: options.maxBytes,
      ...(media.name ? { name: media.name } : {}),
      ...(media.mimeType ? { mimeType: media.mimeType } : {}),
    });
  }

  /** Upload as a temporary file, then an `image` / `voice` / `video` / `file` message; a caption follows as text. */
  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const type = wecomMediaType(media);
    const mediaId = await this.#api.upload(type, media.name, media.data, media.mimeType);
    const messageId = await this.#api.sendMedia(this.#target(address), type, mediaId);
    if (media.caption) await this.send(address, { text: media.caption, format: "plain" });
    return { messageId };
  }

  #target(address: Address): WecomTarget {
    const group =
      address.chatType === "group" || (address.chatType === undefined && this.#groups.has(address.chatId));
    return group ? { chatid: address.chatId } : { touser: address.chatId };
  }

  /** Send text (Markdown flattened) to a member or app group chat, split to WeCom's 2,048-byte limit. */
  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const text = message.format === "plain" ? message.text : markdownToPlain(message.text);
    const target = this.#target(address);
    let messageId = "";
    for (const piece of splitUtf8(text, MAX_MESSAGE_BYTES)) {
      messageId = await this.#api.sendText(target, piece);
    }
    return { messageId };
  }
}

/** WeCom's temporary-media limits: images and videos 10 MB, voice 2 MB (AMR), other files 20 MB. */
export const WECOM_UPLOAD_MAX_BYTES = 20 * 1024 * 1024;
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;

/** How WeCom should show a file: images and (AMR) voice as such, MP4 as video, the rest as a file. */
export function wecomMediaType(media: OutboundMedia): "image" | "voice" | "video" | "file" {
  if (media.kind === "image" && media.data.byteLength <= IMAGE_MAX_BYTES && media.mimeType !== "image/gif")
    return "image";
  if (media.kind === "audio" && media.mimeType === "audio/amr" && media.data.byteLength <= 2 * 1024 * 1024)
    return "voice";
  if (media.kind === "video" && media.mimeType === "video/mp4" && media.data.byteLength <= IMAGE_MAX_BYTES)
    return "video";
  return "file";
}

/** Build an adapter from a config as written (defaults applied, validated). */
export function createWecomAdapter(
  config: WecomAdapterConfigInput,
  options: { account?: string } = {},
): WecomAdapter {
  return new WecomAdapter(wecomConfigSchema.parse(config), options);
}

export const platform: PlatformDefinition<typeof wecomConfigSchema> = {
  name: PLATFORM,
  configSchema: wecomConfigSchema,
  credentialKeys: ["corp_id", "corp_secret", "agent_id", "encoding_aes_key"],
  create: (config, { account }) => new WecomAdapter(config, { account }),
};

export { WecomApi, type WecomApiOptions, type WecomTarget } from "./api.ts";
export { aesKeyOf, decrypt, encrypt, signature, WecomCryptoError } from "./crypto.ts";
export { toPlatformError, type WecomFailure } from "./errors.ts";
export { byteLength, markdownToPlain, splitUtf8 } from "./format.ts";
export { messageKey, normalizeMessage } from "./normalize.ts";
export {
  DEFAULT_API_URL,
  defaultCallbackPath,
  MAX_MESSAGE_BYTES,
  PLATFORM,
  type WecomAdapterConfig,
  type WecomAdapterConfigInput,
  type WecomMessageFields,
  wecomConfigSchema,
} from "./types.ts";
export {
  type CallbackHandlers,
  type CallbackOptions,
  createCallbackHandlers,
  MAX_CLOCK_SKEW_MS,
} from "./webhook.ts";
export { cdata, parseWecomXml, WecomXmlError } from "./xml.ts";
