import {
  type AdapterContext,
  type Address,
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
  type SentMessage,
  silentLogger,
  TransientError,
} from "@switchboard/core";
import {
  ClientEvent,
  createClient,
  HttpApiEvent,
  type MatrixClient,
  type MatrixEvent,
  Method,
  type Room,
  RoomEvent,
  SyncState,
} from "matrix-js-sdk";
import { editContent, replyContent, withoutFormatting } from "./content.ts";
import { toPlatformError } from "./errors.ts";
import { downloadMxc, fileContent, MATRIX_UPLOAD_MAX_BYTES } from "./media.ts";
import { normalizeMessage } from "./normalize.ts";
import {
  type Credentials,
  type OwnedFetch,
  ownedFetch,
  resolveCredentials,
  routeGlobalSdkLogging,
  sdkLogger,
  skipMatrixRtc,
  useUnrefTimeouts,
} from "./sdk.ts";
import {
  type MatrixAdapterConfig,
  type MatrixAdapterInput,
  type MessageContent,
  matrixConfigSchema,
  PLATFORM,
} from "./types.ts";

export { toPlatformError } from "./errors.ts";
export { escapeHtml, formatMarkdown, markdownToHtml, markdownToPlain } from "./format.ts";
export { MATRIX_UPLOAD_MAX_BYTES, mediaOfContent } from "./media.ts";
export { chatTypeOf, mentionsBot, normalizeMessage } from "./normalize.ts";
export * from "./types.ts";

/** 16,000 UTF-16 units keeps body + formatted_body of CJK text under the 64 KiB event limit. */
export const MATRIX_CAPABILITIES: PlatformCapabilities = {
  maxMessageLength: 16_000,
  edit: true,
  // Each edit is a new m.replace event in the room: homeservers rate-limit event sends per user.
  editIntervalMs: 1500,
  typing: true,
  threads: true,
  format: "html",
  mediaIn: true,
  mediaOut: { maxBytes: MATRIX_UPLOAD_MAX_BYTES },
  // Matrix clients have no bot command menu.
  nativeCommands: false,
};

/** A matrix-js-sdk client for the account's credentials, on the adapter's own connection pool. */
function sdkClient(baseUrl: string, http: OwnedFetch, creds: Credentials, log: Logger): MatrixClient {
  const client = createClient({
    baseUrl,
    fetchFn: http.fetchFn,
    userId: creds.userId,
    accessToken: creds.accessToken,
    ...(creds.deviceId ? { deviceId: creds.deviceId } : {}),
    logger: sdkLogger(log),
  });
  useUnrefTimeouts(client);
  return client;
}

const START_TIMEOUT_MS = 60_000;
const SEND_TIMEOUT_MS = 30_000;
const TYPING_TIMEOUT_MS = 20_000;
/** Events stamped this long before start-up are history (e.g. the timeline of a room joined later). */
const PRE_START_GRACE_MS = 5_000;
const ENCRYPTED_NOTICE =
  "I can't read end-to-end encrypted messages: encryption is not supported yet. Please talk to me in an unencrypted room.";

/** One Matrix account: `/sync` through matrix-js-sdk in, `PUT /send` out. */
export class MatrixAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  readonly capabilities = MATRIX_CAPABILITIES;
  readonly config: MatrixAdapterConfig;
  #client: MatrixClient | undefined;
  #http: OwnedFetch | undefined;
  /**
   * Sends while not started (a replica standing by for this account, whose cron or API delivers to it): a
   * client that never syncs, over its own connection pool, dropped by `start` and `stop`.
   */
  #sender: Promise<{ client: MatrixClient; http: OwnedFetch }> | undefined;
  #ctx: AdapterContext | undefined;
  #log: Logger = silentLogger();
  #userId: string;
  #startedAt = 0;
  /** Set by the first PREPARED sync: everything in the initial sync is history. */
  #live = false;
  #syncFailing = false;
  #stopped = false;
  #cancelStart: ((err: Error) => void) | undefined;
  #onAbort = (): void => void this.stop();
  #warnedEncrypted = new Set<string>();
  #noticedEncrypted = new Set<string>();

  constructor(config: MatrixAdapterInput, options: { account?: string } = {}) {
    this.config = matrixConfigSchema.parse(config);
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.#userId = this.config.user_id;
  }

  /** The bot's user id (from the login when password login returned another form of it). */
  get userId(): string {
    return this.#userId;
  }

  async start(ctx: AdapterContext): Promise<void> {
    if (this.#client) throw new Error(`matrix account ${this.account} is already started`);
    await this.#dropSender();
    this.#ctx = ctx;
    this.#stopped = false;
    this.#live = false;
    this.#log = ctx.logger;
    routeGlobalSdkLogging(this.#log);
    const baseUrl = (this.config.homeserver ?? this.config.api_url)!;
    const http = ownedFetch();
    this.#http = http;
    let creds: Credentials;
    try {
      creds = await resolveCredentials(this.config, { baseUrl, fetchFn: http.fetchFn, log: this.#log });
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.#stopped || ctx.signal.aborted) {
      await this.stop();
      return;
    }

    const client = sdkClient(baseUrl, http, creds, this.#log);
    this.#client = client;
    this.#userId = creds.userId;
    client.on(RoomEvent.Timeline, this.#onTimeline);
    client.on(RoomEvent.MyMembership, this.#onMembership);
    client.on(ClientEvent.Sync, this.#onSync);
    client.on(HttpApiEvent.SessionLoggedOut, (err) =>
      this.#log.error(
        { err },
        "the homeserver logged the bot out (token revoked?): set a new access_token or password",
      ),
    );
    ctx.signal.addEventListener("abort", this.#onAbort, { once: true });

    const prepared = this.#untilPrepared();
    this.#startedAt = Date.now();
    const starting = client.startClient({
      initialSyncLimit: 0,
      pollTimeout: this.config.sync_timeout_ms,
      lazyLoadMembers: false,
    });
    skipMatrixRtc(client);
    try {
      await starting;
      await prepared;
    } catch (err) {
      await this.stop();
      throw toPlatformError(err, `start (sync as ${creds.userId})`);
    }
    this.#log.info({ userId: this.#userId }, "matrix sync started");
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#dropSender();
    this.#cancelStart?.(new TransientError(PLATFORM, "matrix adapter stopped while starting"));
    this.#ctx?.signal.removeEventListener("abort", this.#onAbort);
    const client = this.#client;
    const http = this.#http;
    this.#client = undefined;
    this.#http = undefined;
    if (client) {
      client.removeAllListeners();
      client.stopClient();
      // stopClient() only aborts /sync; in-flight sends and typing would otherwise run on.
      client.http.abort();
    }
    await http?.close();
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    return { messageId: await this.#sendEvent(address.chatId, replyContent(address, message)) };
  }

  async edit(address: Address, messageId: string, message: OutboundMessage): Promise<void> {
    await this.#sendEvent(address.chatId, editContent(messageId, message));
  }

  /** An `mxc://` file through the homeserver's authenticated media API, with this account's token. */
  async downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    const { client, fetchFn } = await this.#clientFor("download");
    return downloadMxc(media, {
      ...options,
      baseUrl: (this.config.homeserver ?? this.config.api_url)!,
      accessToken: client.getAccessToken() ?? "",
      fetchFn,
    });
  }

  /** Upload to the media repository, then an `m.image` / `m.file` event pointing at its `mxc://` URI. */
  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const { client } = await this.#clientFor("upload");
    let uri: string;
    try {
      const blob = new Blob([media.data as Uint8Array<ArrayBuffer>], { type: media.mimeType });
      ({ content_uri: uri } = await client.uploadContent(blob, { name: media.name, type: media.mimeType }));
    } catch (err) {
      throw toPlatformError(err, `upload ${media.name}`);
    }
    return { messageId: await this.#put(address.chatId, fileContent(address, media, uri)) };
  }

  async typing(address: Address): Promise<void> {
    const { client } = await this.#clientFor("typing");
    try {
      await client.sendTyping(address.chatId, true, TYPING_TIMEOUT_MS);
    } catch (err) {
      throw toPlatformError(err, `typing in ${address.chatId}`);
    }
  }

  /** Send an `m.room.message`; if the homeserver refuses its formatting, send it once more as plain text. */
  async #sendEvent(roomId: string, content: MessageContent): Promise<string> {
    try {
      return await this.#put(roomId, content);
    } catch (err) {
      const plain = withoutFormatting(content);
      // Homeservers do not validate HTML, but a proxy or size check may refuse it: plain text still gets through.
      if (
        !plain ||
        !(err instanceof PlatformError) ||
        err.retryable ||
        (err.status !== 400 && err.status !== 413)
      )
        throw err;
      this.#log.warn(
        { err, roomId },
        "the homeserver refused the formatted message; sending it as plain text",
      );
      return await this.#put(roomId, plain);
    }
  }

  /**
   * A direct `PUT /send` rather than `client.sendMessage()`: the SDK's send queue retries rate limits
   * on its own and, giving up, fails every queued message of every room. Core owns retries.
   */
  async #put(roomId: string, content: MessageContent): Promise<string> {
    const { client } = await this.#clientFor("send");
    const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(client.makeTxnId())}`;
    try {
      // The SDK types `priority` as required (a DOM RequestInit key); it is optional at runtime.
      const opts = { localTimeoutMs: SEND_TIMEOUT_MS } as Parameters<typeof client.http.authedRequest>[4];
      const res = await client.http.authedRequest<{ event_id: string }>(
        Method.Put,
        path,
        undefined,
        { ...content },
        opts,
      );
      return res.event_id;
    } catch (err) {
      throw toPlatformError(err, `send to ${roomId}`);
    }
  }

  /**
   * The syncing client once started; before that (a standby replica) a send-only one: sends are plain
   * client-server API calls, so they need no `/sync`.
   */
  async #clientFor(action: string): Promise<{ client: MatrixClient; fetchFn: typeof globalThis.fetch }> {
    if (this.#client) return { client: this.#client, fetchFn: this.#http!.fetchFn };
    this.#sender ??= this.#openSender().catch((err: unknown) => {
      this.#sender = undefined;
      throw err;
    });
    try {
      const { client, http } = await this.#sender;
      return { client, fetchFn: http.fetchFn };
    } catch (err) {
      throw toPlatformError(err, `${action} (account ${this.account}, not receiving here)`);
    }
  }

  async #openSender(): Promise<{ client: MatrixClient; http: OwnedFetch }> {
    const baseUrl = (this.config.homeserver ?? this.config.api_url)!;
    const http = ownedFetch();
    try {
      const creds = await resolveCredentials(this.config, { baseUrl, fetchFn: http.fetchFn, log: this.#log });
      return { client: sdkClient(baseUrl, http, creds, this.#log), http };
    } catch (err) {
      await http.close();
      throw err;
    }
  }

  async #dropSender(): Promise<void> {
    const sender = this.#sender;
    this.#sender = undefined;
    const opened = await sender?.catch(() => undefined);
    if (!opened) return;
    opened.client.http.abort();
    await opened.http.close();
  }

  /** Resolves at the first PREPARED sync; rejects if sync errors first, the start times out or is stopped. */
  #untilPrepared(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const client = this.#client!;
      const done = (err?: Error): void => {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        this.#cancelStart = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }): void => {
        if (state === SyncState.Prepared) done();
        else if (state === SyncState.Error) done(data?.error ?? new Error("initial sync failed"));
      };
      const timer = setTimeout(
        () =>
          done(
            new TransientError(PLATFORM, `matrix initial sync did not finish within ${START_TIMEOUT_MS} ms`),
          ),
        START_TIMEOUT_MS,
      );
      this.#cancelStart = done;
      client.on(ClientEvent.Sync, onSync);
    });
  }

  #onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }): void => {
    if (state === SyncState.Prepared) this.#live = true;
    if (!this.#live) return;
    if (state === SyncState.Error && !this.#syncFailing) {
      this.#syncFailing = true;
      this.#log.warn({ err: data?.error }, "matrix sync is failing; the SDK keeps retrying");
    } else if (state === SyncState.Syncing && this.#syncFailing) {
      this.#syncFailing = false;
      this.#log.info("matrix sync recovered");
    }
  };

  #onTimeline = (
    event: MatrixEvent,
    room: Room | undefined,
    toStartOfTimeline: boolean | undefined,
    removed: boolean,
    data: { liveEvent?: boolean },
  ): void => {
    if (!room || toStartOfTimeline || removed || !data.liveEvent || !this.#live || this.#stopped) return;
    const sender = event.getSender();
    // Our own sends come back through /sync.
    if (!sender || sender === this.#userId) return;
    if (event.getTs() < this.#startedAt - PRE_START_GRACE_MS) return;
    const type = event.getType();
    if (type === "m.room.encrypted") {
      this.#onEncrypted(room, sender);
      return;
    }
    if (type !== "m.room.message" || !this.#client || !this.#ctx) return;
    const inbound = normalizeMessage(
      { client: this.#client, account: this.account, userId: this.#userId },
      event,
      room,
    );
    if (!inbound) return;
    this.#ctx
      .dispatch(inbound)
      .catch((err: unknown) => this.#log.error({ err, eventId: inbound.messageId }, "dispatch failed"));
  };

  /** Encrypted rooms are unsupported: say so once in the log, and once in the room to an allowed user. */
  #onEncrypted(room: Room, sender: string): void {
    this.#warnEncrypted(room);
    if (this.#noticedEncrypted.has(room.roomId) || !this.#isAllowed(sender)) return;
    this.#noticedEncrypted.add(room.roomId);
    this.#sendEvent(room.roomId, { msgtype: "m.notice", body: ENCRYPTED_NOTICE }).catch((err: unknown) =>
      this.#log.warn({ err, roomId: room.roomId }, "could not post the encryption notice"),
    );
  }

  #warnEncrypted(room: Room): void {
    if (this.#warnedEncrypted.has(room.roomId)) return;
    this.#warnedEncrypted.add(room.roomId);
    this.#log.warn(
      { roomId: room.roomId },
      "room is end-to-end encrypted: encryption is not supported, its messages are not read (use an unencrypted room)",
    );
  }

  #onMembership = (room: Room, membership: string): void => {
    if (this.#stopped || !this.#client) return;
    if (membership === "join" && room.hasEncryptionStateEvent()) this.#warnEncrypted(room);
    if (membership !== "invite") return;
    const inviter = room.getMember(this.#userId)?.events.member?.getSender();
    if (!this.config.auto_join) {
      this.#log.info({ roomId: room.roomId, inviter }, "invited to a room; auto_join is off, not joining");
      return;
    }
    if (!inviter || !this.#isAllowed(inviter)) {
      this.#log.info({ roomId: room.roomId, inviter }, "ignoring an invite from a user who is not allowed");
      return;
    }
    this.#client.joinRoom(room.roomId).then(
      () => this.#log.info({ roomId: room.roomId, inviter }, "joined room on invite"),
      (err: unknown) =>
        this.#log.warn({ err: toPlatformError(err, `join ${room.roomId}`) }, "could not join room on invite"),
    );
  };

  /** The allow-list core applies to messages, applied here to invites and notices (nothing configured = nobody). */
  #isAllowed(userId: string): boolean {
    if (this.config.allow_all_users) return true;
    const allowed = this.config.allowed_users ?? [];
    return allowed.includes("*") || allowed.includes(userId);
  }
}

export function createMatrixAdapter(
  config: MatrixAdapterInput,
  options: { account?: string } = {},
): MatrixAdapter {
  return new MatrixAdapter(config, options);
}

export const platform: PlatformDefinition<typeof matrixConfigSchema> = {
  name: PLATFORM,
  configSchema: matrixConfigSchema,
  credentialKeys: ["user_id", "device_id"],
  create: (config, { account }) => new MatrixAdapter(config, { account }),
};
