import {
  type AdapterContext,
  type Address,
  type InboundMedia,
  type InboundMessage,
  type MediaFile,
  mediaTooLarge,
  type NativeCommand,
  type OutboundMedia,
  type OutboundMessage,
  type PlatformAdapter,
  type PlatformCapabilities,
  type PlatformDefinition,
  platformCommonSchema,
  RateLimitError,
  type SentMessage,
  TransientError,
} from "@switchboard/core";
import { z } from "zod";
import type { FakeInbound, FakeMedia, FakePlatform, FakeSent, FakeUpload } from "./conformance-types.ts";
import { SentLog } from "./sent-log.ts";

export const testConfigSchema = platformCommonSchema
  .extend({
    /** Which in-memory network this account joins (defaults to the shared one). */
    network: z.string().default("default"),
    max_message_length: z.number().int().min(16).default(4096),
    /** Files in and out (`mediaIn`, `mediaOut`): off by default, so other tests see the plain contract. */
    media: z.boolean().default(false),
  })
  .strict();

/** An in-memory platform: adapters of every account join a network; tests inject and read what was sent. */
export class TestNetwork implements FakePlatform {
  readonly adapters = new Map<string, TestAdapter>();
  readonly #sent = new SentLog();
  readonly typing: Address[] = [];
  /** Each account's native command menu, as the gateway last published it (`setCommands`). */
  readonly commandMenus = new Map<string, readonly NativeCommand[]>();
  #failures: Array<{ status: number; retryAfter: number }> = [];
  #rejectFormatted = false;
  #nextId = 1;
  /** Files users sent (by ref) and what adapters uploaded. */
  readonly #files = new Map<string, FakeMedia>();
  readonly #uploads: FakeUpload[] = [];
  readonly media = { in: true, out: true };

  async inject(message: FakeInbound): Promise<void> {
    const account = message.account ?? "default";
    const adapter = this.adapters.get(account);
    if (!adapter) throw new Error(`no test adapter for account ${account}`);
    await adapter.receive({
      platform: adapter.platform,
      account,
      messageId: message.messageId ?? `m${this.#nextId++}`,
      chat: { id: message.chatId, type: message.chatType },
      ...(message.threadId ? { threadId: message.threadId } : {}),
      ...(message.parentChatId ? { parentChatId: message.parentChatId } : {}),
      ...(message.guildId ? { guildId: message.guildId } : {}),
      user: { id: message.userId, ...(message.userName ? { name: message.userName } : {}) },
      text: message.text,
      mentionsBot: message.mention ?? false,
      isSelf: message.fromSelf ?? false,
      ...(message.media?.length ? { media: message.media.map((f) => this.#file(f)) } : {}),
    });
  }

  #file(file: FakeMedia): InboundMedia {
    const ref = `file-${this.#nextId++}`;
    this.#files.set(ref, file);
    return {
      kind: file.kind,
      ref,
      name: file.name,
      mimeType: file.mimeType,
      size: file.data.byteLength,
      ...(file.voice ? { voice: true } : {}),
    };
  }

  /** Called by adapters: a user's file, refused past `maxBytes`. */
  download(ref: string | undefined, maxBytes: number): MediaFile {
    const file = ref ? this.#files.get(ref) : undefined;
    if (!file) throw new TransientError("test", `the test platform has no file ${ref}`);
    if (file.data.byteLength > maxBytes) throw mediaTooLarge(maxBytes, file.data.byteLength);
    return { data: file.data, mimeType: file.mimeType, name: file.name };
  }

  /** Called by adapters: record an upload. */
  recordUpload(account: string, address: Address, media: OutboundMedia): SentMessage {
    this.#uploads.push({
      account,
      chatId: address.chatId,
      ...(address.threadId ? { threadId: address.threadId } : {}),
      name: media.name,
      data: media.data,
      as: media.kind,
      ...(media.caption ? { caption: media.caption } : {}),
    });
    return { messageId: `s${this.#nextId++}` };
  }

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  /** Deliver a fully specified inbound message. */
  async injectRaw(message: InboundMessage): Promise<void> {
    const adapter = this.adapters.get(message.account);
    if (!adapter) throw new Error(`no test adapter for account ${message.account}`);
    await adapter.receive(message);
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds = 1): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, retryAfter: retryAfterSeconds });
  }

  rejectNextFormatted(): void {
    this.#rejectFormatted = true;
  }

  /** Called by adapters: record a send or fail it as injected. */
  record(account: string, address: Address, message: OutboundMessage): SentMessage {
    const failure = this.#failures.shift();
    if (failure) {
      if (failure.status === 429) throw new RateLimitError("test", failure.retryAfter * 1000);
      throw new TransientError("test", `test platform answered ${failure.status}`, {
        status: failure.status,
      });
    }
    let text = message.text;
    let format = message.format === "plain" ? undefined : "markdown";
    if (format && this.#rejectFormatted) {
      this.#rejectFormatted = false;
      // The adapter's fallback: resend as plain text with the markup stripped.
      text = text.replace(/[*_`~]/g, "");
      format = undefined;
    }
    const sent: FakeSent = {
      account,
      chatId: address.chatId,
      ...(address.threadId ? { threadId: address.threadId } : {}),
      text,
      ...(format ? { format } : {}),
      raw: { address, message },
    };
    this.#sent.push(sent);
    return { messageId: `s${this.#nextId++}` };
  }

  async close(): Promise<void> {
    this.adapters.clear();
  }
}

const networks = new Map<string, TestNetwork>();

/** The shared in-memory network of a name (created on first use). */
export function testNetwork(name = "default"): TestNetwork {
  let n = networks.get(name);
  if (!n) {
    n = new TestNetwork();
    networks.set(name, n);
  }
  return n;
}

/** An in-memory adapter implementing the core contract, for tests of everything above the platform. */
export class TestAdapter implements PlatformAdapter {
  readonly platform: string;
  readonly account: string;
  readonly capabilities: PlatformCapabilities;
  readonly network: TestNetwork;
  #ctx: AdapterContext | undefined;

  constructor(
    options: {
      platform?: string;
      account?: string;
      network?: TestNetwork;
      maxMessageLength?: number;
      /** Declare `mediaIn` and `mediaOut` (10 MB). */
      media?: boolean;
    } = {},
  ) {
    this.platform = options.platform ?? "test";
    this.account = options.account ?? "default";
    this.network = options.network ?? testNetwork();
    this.capabilities = {
      maxMessageLength: options.maxMessageLength ?? 4096,
      edit: false,
      typing: true,
      threads: true,
      format: "markdown",
      nativeCommands: true,
      ...(options.media ? { mediaIn: true, mediaOut: { maxBytes: 10 * 1024 * 1024 } } : {}),
    };
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.#ctx = ctx;
    this.network.adapters.set(this.account, this);
  }

  async stop(): Promise<void> {
    if (this.network.adapters.get(this.account) === this) this.network.adapters.delete(this.account);
    this.#ctx = undefined;
  }

  async receive(inbound: InboundMessage): Promise<void> {
    if (!this.#ctx) throw new Error(`test adapter ${this.account} is not started`);
    await this.#ctx.dispatch(inbound);
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    return this.network.record(this.account, address, message);
  }

  async downloadMedia(media: InboundMedia, options: { maxBytes: number }): Promise<MediaFile> {
    return this.network.download(media.ref, options.maxBytes);
  }

  async sendMedia(address: Address, media: OutboundMedia): Promise<SentMessage> {
    return this.network.recordUpload(this.account, address, media);
  }

  /** Report a connection state to core, as a real adapter does when its platform drops and comes back. */
  report(state: "connected" | "reconnecting" | "failed", reason?: string): void {
    this.#ctx?.reportStatus?.(state, reason);
  }

  async typing(address: Address): Promise<void> {
    this.network.typing.push(address);
  }

  async setCommands(commands: readonly NativeCommand[]): Promise<void> {
    this.network.commandMenus.set(this.account, [...commands]);
  }
}

export function createTestAdapter(
  config: z.output<typeof testConfigSchema>,
  options: { account?: string } = {},
): TestAdapter {
  return new TestAdapter({
    account: options.account ?? "default",
    network: testNetwork(config.network),
    maxMessageLength: config.max_message_length,
    media: config.media,
  });
}

/** The `test` platform: an in-memory adapter the gateway can load like any other. */
export const platform: PlatformDefinition<typeof testConfigSchema> = {
  name: "test",
  configSchema: testConfigSchema,
  create: (config, { account }) => createTestAdapter(config, { account }),
};
