import type { Logger } from "../logger.ts";
import { createTurnMedia, type TurnMediaHandle } from "../media/turn-media.ts";
import type { Admission, Operations } from "../operate/operations.ts";
import { guardedSend } from "../operate/send-guard.ts";
import type {
  Address,
  InboundMessage,
  OutboundMedia,
  OutboundMessage,
  PlatformAdapter,
  SentMessage,
} from "../platform.ts";
import type { SessionSource } from "../sessions/source.ts";
import { splitMessage } from "./chunk.ts";
import { type RetryOptions, withRetry } from "./retry.ts";

/** Where the reply to a message goes: the same account, chat and thread, answering that message. */
export function replyAddress(inbound: InboundMessage): Address {
  return {
    platform: inbound.platform,
    account: inbound.account,
    chatId: inbound.chat.id,
    chatType: inbound.chat.type,
    ...(inbound.threadId ? { threadId: inbound.threadId } : {}),
    replyToMessageId: inbound.messageId,
  };
}

export interface DeliveryDeps {
  /** The connected adapter of an account, or `undefined`. */
  adapter(platform: string, account: string): PlatformAdapter | undefined;
  /** The circuit breakers of the accounts and chat admission. */
  ops: Operations;
  logger: Logger;
  /** Backoff for sends (tests shorten it). */
  retry?: RetryOptions | undefined;
  /** How often the typing indicator is refreshed while a turn runs. */
  typingIntervalMs: number;
  /**
   * Replicas: a text send to an account that sends only over its connection (`sendsOverConnection`) and
   * that another replica holds is handed to it through the store (`forward`, true when it was).
   */
  forward?:
    | ((address: Address, text: string, message: Omit<OutboundMessage, "text">) => Promise<boolean>)
    | undefined;
}

/** Sending to chats: replies split to the platform's limit, retried, through the account's breaker; typing. */
export class Delivery {
  readonly #deps: DeliveryDeps;
  constructor(deps: DeliveryDeps) {
    this.#deps = deps;
  }

  /** Send a reply: split to the platform's limit, each chunk retried on 429/5xx. */
  async sendText(
    address: Address,
    text: string,
    message: Omit<OutboundMessage, "text"> = {},
    /** `turnId` links the send to its turn's trace; `force` passes a paused breaker (an admin's `/platform` answer). */
    opts: { turnId?: string; force?: boolean } = {},
  ): Promise<void> {
    const { logger } = this.#deps;
    const adapter = this.#deps.adapter(address.platform, address.account);
    if (!adapter)
      throw new Error(`no connected adapter for ${address.platform} account "${address.account}"`);
    if (adapter.sendsOverConnection && (await this.#deps.forward?.(address, text, message))) return;
    const caps = adapter.capabilities;
    const chunks = splitMessage(text, caps.maxMessageLength, caps.lengthUnit ?? "utf16");
    // Through the account's circuit breaker: repeated failures pause its sends instead of retrying each message.
    await guardedSend(
      this.#deps.ops,
      { platform: address.platform, account: address.account, ...opts },
      async (counted) => {
        for (let i = 0; i < chunks.length; i++) {
          const part = { index: i, count: chunks.length };
          await withRetry(() => adapter.send(address, { ...message, text: chunks[i]!, part }), {
            ...this.#deps.retry,
            onRetry: ({ attempt, delayMs, error }) => {
              counted();
              logger.warn(
                { platform: address.platform, account: address.account, attempt, delayMs, err: error },
                `send to ${address.platform} failed; retrying in ${Math.round(delayMs)} ms`,
              );
            },
          });
        }
      },
      logger,
    );
  }

  /** The connected adapter of the account `address` belongs to. */
  adapterOf(address: Pick<Address, "platform" | "account">): PlatformAdapter | undefined {
    return this.#deps.adapter(address.platform, address.account);
  }

  /** Upload a file into the chat of `address`, retried on 429/5xx, through the account's breaker. */
  async sendMedia(
    address: Address,
    file: OutboundMedia,
    opts: { turnId?: string } = {},
  ): Promise<SentMessage> {
    const { logger } = this.#deps;
    const adapter = this.adapterOf(address);
    if (!adapter?.sendMedia)
      throw new Error(`${address.platform} account "${address.account}" cannot send files`);
    let sent: SentMessage = { messageId: "" };
    await guardedSend(
      this.#deps.ops,
      { platform: address.platform, account: address.account, ...opts },
      async (counted) => {
        sent = await withRetry(() => adapter.sendMedia!(address, file), {
          ...this.#deps.retry,
          onRetry: ({ attempt, delayMs, error }) => {
            counted();
            logger.warn(
              { platform: address.platform, account: address.account, attempt, delayMs, err: error },
              `upload to ${address.platform} failed; retrying in ${Math.round(delayMs)} ms`,
            );
          },
        });
      },
      logger,
    );
    return sent;
  }

  /**
   * A chat turn's way to send files into its own chat (`services.media`), when the account declares
   * `mediaOut`; `undefined` otherwise (the `media` toolset is then not offered).
   */
  mediaFor(address: Address, opts: { turnId?: string } = {}): TurnMediaHandle | undefined {
    const adapter = this.adapterOf(address);
    const maxBytes = adapter?.capabilities.mediaOut?.maxBytes;
    if (!adapter?.sendMedia || !maxBytes) return undefined;
    return createTurnMedia({ maxBytes, deliver: (file) => this.sendMedia(address, file, opts) });
  }

  /** Show "typing…" in the chat until the returned function is called (refreshed on an interval). */
  startTyping(address: Address): () => void {
    const adapter = this.#deps.adapter(address.platform, address.account);
    if (!adapter?.typing || !adapter.capabilities.typing) return () => {};
    const fire = () => {
      adapter
        .typing?.(address)
        .catch((err: unknown) =>
          this.#deps.logger.debug({ err, platform: address.platform }, "typing failed"),
        );
    };
    fire();
    const timer = setInterval(fire, this.#deps.typingIntervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Admit a platform turn; a refusal is told to the chat once (not once per message) and yields `undefined`. */
  admitOrNotify(
    agentId: string,
    source: SessionSource,
    address: Address,
    opts: { requests?: boolean; enforceConcurrency?: boolean } = {},
  ): Promise<Admission | undefined> {
    return this.#deps.ops.admitChat(
      { agentId, platform: source.platform, userId: source.userId },
      opts,
      (text) => this.sendText(address, text, { format: "plain" }),
    );
  }
}
