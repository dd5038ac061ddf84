import { App, SocketModeReceiver, webApi } from "@slack/bolt";
import type {
  AdapterContext,
  Address,
  InboundMedia,
  MediaFile,
  OutboundMedia,
  OutboundMessage,
  PlatformAdapter,
  PlatformCapabilities,
  SentMessage,
} from "@switchboard/core";
import { ACTION_ID_PATTERN, actionBlocks, normalizeAction } from "./actions.ts";
import { BoltLoggerBridge } from "./bolt-logger.ts";
import { toPlatformError } from "./errors.ts";
import { escapeMrkdwn, markdownToMrkdwn } from "./format.ts";
import { downloadSlackFile, SLACK_UPLOAD_MAX_BYTES, uploadArgs } from "./media.ts";
import { normalizeEvent } from "./normalize.ts";
import { RecentSet } from "./recent.ts";
import {
  MAX_MESSAGE_LENGTH,
  PLATFORM,
  type SlackAdapterConfig,
  type SlackIdentity,
  slackMessageEventSchema,
} from "./types.ts";
import { SlackEventsReceiver } from "./webhook.ts";

/** A Web API call that has not answered in this long is treated as failed (and retried by core). */
const REQUEST_TIMEOUT_MS = 30_000;
/** How many event ids / message keys / threads each account remembers for dedupe and thread follow-ups. */
const RECENT_EVENTS = 5000;
const RECENT_THREADS = 5000;
/** How long `stop()` waits for Slack to answer the WebSocket close frame before dropping the socket. */
const CLOSE_WAIT_MS = 1000;

/** One Slack app installation (one workspace, one bot token), received over Socket Mode or HTTP events. */
export class SlackAdapter implements PlatformAdapter {
  readonly platform = PLATFORM;
  readonly account: string;
  /** Webhook mode is served by whichever replica the load balancer picks; a connection is leased to one. */
  get receives(): "webhook" | "connection" {
    return this.#config.mode === "socket" ? "connection" : "webhook";
  }
  readonly capabilities: PlatformCapabilities = {
    maxMessageLength: MAX_MESSAGE_LENGTH,
    edit: true,
    // chat.update is a Tier 3 method (about 50 a minute), and a chat takes about one message a second.
    editIntervalMs: 1000,
    typing: false,
    threads: true,
    format: "mrkdwn",
    mediaIn: true,
    mediaOut: { maxBytes: SLACK_UPLOAD_MAX_BYTES },
    // Slash commands live in the app's manifest; there is no bot API to publish them at run time.
    nativeCommands: false,
  };

  readonly #config: SlackAdapterConfig;
  readonly #log = new BoltLoggerBridge();
  readonly #web: InstanceType<typeof webApi.WebClient>;
  /** Slack redelivers an event it thinks was not acked, and sends `message` and `app_mention` for one mention. */
  readonly #seenEvents = new RecentSet(RECENT_EVENTS);
  readonly #seenMessages = new RecentSet(RECENT_EVENTS);
  /** Threads the bot has posted in (`channel:thread_ts`): follow-ups there count as addressed to it. */
  readonly #botThreads = new RecentSet(RECENT_THREADS);
  #app: App | undefined;
  #socket: SocketModeReceiver | undefined;
  #identity: SlackIdentity | undefined;

  constructor(config: SlackAdapterConfig, options: { account: string }) {
    this.#config = config;
    this.account = options.account;
    // Core retries (with backoff, honouring Retry-After); the SDK must fail fast and say why.
    this.#web = new webApi.WebClient(config.bot_token, {
      ...this.#clientOptions(),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: REQUEST_TIMEOUT_MS,
    });
  }

  /** The bot's identity in its workspace, known once `start()` has run `auth.test`. */
  get identity(): SlackIdentity | undefined {
    return this.#identity;
  }

  /** The path this account's events are mounted on in HTTP mode. */
  get eventsPath(): string {
    return this.#config.events_path ?? `/slack/${this.account}/events`;
  }

  async start(ctx: AdapterContext): Promise<void> {
    if (this.#app) throw new Error(`slack account ${this.account} is already started`);
    const logger = ctx.logger;
    this.#log.setTarget(logger);

    const auth = await this.#call("auth.test", () => this.#web.auth.test());
    if (!auth.user_id) throw toPlatformError(new Error("auth.test returned no user_id"), "auth.test");
    const identity: SlackIdentity = { userId: auth.user_id, botId: auth.bot_id, teamId: auth.team_id };
    this.#identity = identity;

    const receiver =
      this.#config.mode === "socket"
        ? new SocketModeReceiver({
            appToken: this.#config.app_token ?? "",
            logger: this.#log,
            // A fresh object: the Socket Mode client writes its own retry policy for apps.connections.open into it.
            installerOptions: { clientOptions: this.#clientOptions() },
          })
        : new SlackEventsReceiver({ signingSecret: this.#config.signing_secret ?? "", logger });
    if (receiver instanceof SlackEventsReceiver) ctx.http.route("POST", this.eventsPath, receiver.handle);
    else this.#socket = receiver;

    const app = new App({
      token: this.#config.bot_token,
      // Known from auth.test above, so Bolt does not call it again.
      botId: identity.botId ?? "",
      botUserId: identity.userId,
      receiver,
      logger: this.#log,
      // Own messages are flagged `isSelf` for core rather than dropped unseen.
      ignoreSelf: false,
      convoStore: false,
      clientOptions: { ...this.#clientOptions(), retryConfig: { retries: 0 } },
    });
    const onEvent = async ({ event, body }: { event: unknown; body: unknown }): Promise<void> => {
      try {
        await this.#onEvent(event, body, ctx);
      } catch (err) {
        logger.error({ err }, "slack: dispatching an event failed");
      }
    };
    app.event("message", onEvent);
    app.event("app_mention", onEvent);
    // Button presses (approval prompts) come back as the command the button carries; Socket Mode only,
    // since HTTP mode receives only the Events API.
    app.action(ACTION_ID_PATTERN, async ({ ack, body }) => {
      await ack();
      const inbound = normalizeAction(body, this.account);
      if (inbound)
        await ctx
          .dispatch(inbound)
          .catch((err: unknown) => logger.error({ err }, "slack: dispatching a button press failed"));
    });
    app.error(async (err) => logger.error({ err }, "slack: Bolt reported an error"));

    this.#app = app;
    try {
      await app.start();
    } catch (err) {
      await this.stop().catch(() => {});
      throw toPlatformError(err, this.#config.mode === "socket" ? "apps.connections.open" : "start");
    }
    logger.info({ mode: this.#config.mode, team: identity.teamId, bot: identity.userId }, "slack: connected");
  }

  async stop(): Promise<void> {
    const app = this.#app;
    const socket = this.#socket;
    this.#app = undefined;
    this.#socket = undefined;
    // Bolt's SocketModeReceiver.stop() does not wait for the close handshake, and its 30 s
    // handshake timer outlives the process's last useful work: wait for the close here, briefly.
    if (socket) await closeSocket(socket.client);
    await app?.stop();
    this.#log.setTarget(undefined);
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const plain = message.format === "plain";
    const threadTs = address.threadId;
    const text = plain ? escapeMrkdwn(message.text) : markdownToMrkdwn(message.text);
    const last = !message.part || message.part.index === message.part.count - 1;
    const blocks = message.actions?.length && last ? actionBlocks(text, message.actions) : undefined;
    const result = await this.#call("chat.postMessage", () =>
      this.#web.chat.postMessage({
        channel: address.chatId,
        text,
        ...(blocks ? { blocks: blocks as never } : {}),
        mrkdwn: !plain,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    if (threadTs !== undefined) this.#botThreads.add(`${address.chatId}:${threadTs}`);
    return { messageId: result.ts ?? "" };
  }

  async edit(address: Address, messageId: string, message: OutboundMessage): Promise<void> {
    const plain = message.format === "plain";
    await this.#call("chat.update", () =>
      this.#web.chat.update({
        channel: address.chatId,
        ts: messageId,
        text: plain ? escapeMrkdwn(message.text) : markdownToMrkdwn(message.text),
      }),
    );
  }

  downloadMedia(
    media: InboundMedia,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<MediaFile> {
    return downloadSlackFile(media, {
      ...options,
      token: this.#config.bot_token,
      ...(this.#config.api_url ? { apiUrl: this.#config.api_url } : {}),
    });
  }

  /** `files.uploadV2`: reserve an upload URL, post the bytes, complete it into the channel (and thread). */
  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    const result = (await this.#call("files.uploadV2", () =>
      this.#web.filesUploadV2(uploadArgs(address.chatId, address.threadId, media) as never),
    )) as { files?: Array<{ files?: Array<{ id?: string }> }> };
    if (address.threadId !== undefined) this.#botThreads.add(`${address.chatId}:${address.threadId}`);
    return { messageId: result.files?.[0]?.files?.[0]?.id ?? "" };
  }

  async #onEvent(rawEvent: unknown, rawBody: unknown, ctx: AdapterContext): Promise<void> {
    const identity = this.#identity;
    if (!identity) return;
    const body = (rawBody ?? {}) as { event_id?: unknown; team_id?: unknown };
    if (typeof body.event_id === "string" && this.#seenEvents.check(body.event_id)) return;
    const parsed = slackMessageEventSchema.safeParse(rawEvent);
    if (!parsed.success) return;
    const result = normalizeEvent(parsed.data, {
      account: this.account,
      identity,
      replyInThread: this.#config.reply_in_thread,
      allowBots: this.#config.allow_bots,
      ...(typeof body.team_id === "string" ? { teamId: body.team_id } : {}),
      inBotThread: (channel, threadTs) => this.#botThreads.has(`${channel}:${threadTs}`),
    });
    if ("ignored" in result) return;
    const { message } = result;
    if (this.#seenMessages.check(`${message.chat.id}:${message.messageId}`)) return;
    await ctx.dispatch(message);
  }

  #clientOptions(): { slackApiUrl?: string; logger: BoltLoggerBridge } {
    return { ...(this.#config.api_url ? { slackApiUrl: this.#config.api_url } : {}), logger: this.#log };
  }

  async #call<T>(method: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw toPlatformError(err, method);
    }
  }
}

/** Disconnect a Socket Mode client; a second `disconnect()` force-closes a socket whose peer never answered. */
async function closeSocket(client: SocketModeReceiver["client"]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), CLOSE_WAIT_MS);
  });
  const stuck = await Promise.race([client.disconnect().then(() => false), timedOut]);
  clearTimeout(timer);
  if (stuck) await client.disconnect();
}
