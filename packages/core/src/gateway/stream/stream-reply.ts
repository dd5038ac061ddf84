import { PlatformError, RateLimitError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { Operations } from "../../operate/operations.ts";
import { guardedSend } from "../../operate/send-guard.ts";
import type { Address, OutboundMessage, PlatformAdapter } from "../../platform.ts";
import type { AgentEvent } from "../../runner.ts";
import { splitMessage } from "../chunk.ts";
import { isRetryable, type RetryOptions, withRetry } from "../retry.ts";
import type { EditPacer } from "./edit-pacer.ts";

/** The first message waits this long after the model's first output… */
export const STREAM_INITIAL_DELAY_MS = 800;
/** …and for at least this many characters (or a tool status line), whichever comes later. */
export const STREAM_INITIAL_CHARS = 40;
/** The edit interval of an adapter that declares none. */
export const DEFAULT_EDIT_INTERVAL_MS = 1000;
/** A platform's 429 widens the interval, never beyond this. */
const MAX_EDIT_INTERVAL_MS = 30_000;

export interface StreamTiming {
  initialDelayMs: number;
  initialChars: number;
}

export interface StreamReplyDeps {
  adapter: PlatformAdapter;
  address: Address;
  ops: Operations;
  logger: Logger;
  pacer: EditPacer;
  retry?: RetryOptions | undefined;
  timing: StreamTiming;
  /** Show "using <tool>…" while a tool runs. */
  toolStatus: boolean;
  turnId?: string;
}

interface Shown {
  messageId: string;
  /** The text last sent or edited into it. */
  text: string;
  /** It carries its final, formatted chunk. */
  final: boolean;
}

/**
 * A reply that appears while the model writes it (issue 14): fed the turn's events, it sends the first
 * message once the initial delay and length are reached, then edits it in place no faster than the
 * platform's edit interval (paced per chat), in plain text cut at a word boundary. A text past the
 * platform's limit finalises the current message (formatted) and continues in a new one, split by
 * `splitMessage` exactly as a whole reply is. `finish` edits in the fully formatted text; a reply that
 * finished before its first message was due is left to the caller to send whole, as without streaming.
 */
export class StreamReply {
  readonly #deps: StreamReplyDeps;
  readonly #chat: string;
  #text = "";
  #status: string | undefined;
  #firstAt: number | undefined;
  #messages: Shown[] = [];
  #intervalMs: number;
  #dirty = false;
  #done = false;
  /** An edit failed for good: no more intermediate edits; `finish` still delivers the final text. */
  #broken = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  constructor(deps: StreamReplyDeps) {
    this.#deps = deps;
    const a = deps.address;
    this.#chat = `${a.platform}\u0000${a.account}\u0000${a.chatId}`;
    this.#intervalMs = deps.adapter.capabilities.editIntervalMs ?? DEFAULT_EDIT_INTERVAL_MS;
    this.#loop = this.#run();
  }

  /** The edit interval now (widened by rate limits). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Whether a message of this reply is visible in the chat. */
  get started(): boolean {
    return this.#messages.length > 0;
  }

  /** Feed one event of the turn. */
  event(ev: AgentEvent): void {
    if (this.#done) return;
    if (ev.type === "text-delta") {
      this.#text += ev.text;
      this.#status = undefined;
    } else if (ev.type === "tool-call" && this.#deps.toolStatus && !ev.client) {
      this.#status = `⏳ using ${ev.toolName}…`;
    } else if (ev.type === "tool-result") {
      this.#status = undefined;
    } else return;
    this.#firstAt ??= Date.now();
    this.#dirty = true;
    this.#wake?.();
  }

  /**
   * The turn ended with `text`: edit it into the reply's messages, formatted, and send what does not fit
   * in them. Resolves false when nothing was shown yet (the caller sends the reply whole, as before).
   */
  async finish(text: string, format: "markdown" | "plain"): Promise<boolean> {
    await this.#stop();
    if (this.#messages.length === 0) return false;
    const { maxMessageLength, lengthUnit } = this.#deps.adapter.capabilities;
    const chunks = splitMessage(text, maxMessageLength, lengthUnit ?? "utf16");
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const shown = this.#messages[i];
      const part = { index: i, count: chunks.length };
      if (!shown) {
        await this.#sendAll(chunks.slice(i), format, i, chunks.length);
        return true;
      }
      if (shown.final && shown.text === chunk) continue;
      try {
        await this.#paced(() =>
          withRetry(() => this.#edit(shown, { text: chunk, format, part }), this.#deps.retry ?? {}),
        );
        shown.final = true;
      } catch (err) {
        // A failed edit never loses the answer: what is left goes out as new messages.
        this.#deps.logger.warn(
          { err, platform: this.#deps.address.platform },
          "could not edit the streamed reply; sending the rest as new messages",
        );
        await this.#sendAll(chunks.slice(i), format, i, chunks.length);
        return true;
      }
    }
    return true;
  }

  /** The turn was stopped: stop streaming, and take a tool status line out of what is shown. */
  async abandon(): Promise<void> {
    await this.#stop();
    const last = this.#messages[this.#messages.length - 1];
    const live = this.#liveText();
    if (!last || last.final || !live.trim() || last.text === live) return;
    await this.#paced(() => this.#edit(last, { text: live, format: "plain" })).catch(() => undefined);
  }

  async #stop(): Promise<void> {
    this.#done = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#done) {
      const wait = this.#readyIn();
      if (wait > 0) {
        await this.#sleepOrWake(wait);
        continue;
      }
      this.#dirty = false;
      try {
        await this.#paced(() => this.#step());
      } catch (err) {
        this.#failed(err);
      }
    }
  }

  /** Milliseconds until the next update may go out; `Infinity` while there is nothing to show. */
  #readyIn(): number {
    if (this.#broken || !this.#dirty || this.#firstAt === undefined) return Number.POSITIVE_INFINITY;
    if (this.#messages.length > 0) return 0;
    if (this.#text.length < this.#deps.timing.initialChars && !this.#status) return Number.POSITIVE_INFINITY;
    return this.#firstAt + this.#deps.timing.initialDelayMs - Date.now();
  }

  #sleepOrWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  #paced<T>(op: () => Promise<T>): Promise<T> {
    return this.#deps.pacer.run(this.#chat, this.#intervalMs, op);
  }

  /** One update: finalise a full chunk, or send / edit the live one. One platform call at most. */
  async #step(): Promise<void> {
    if (this.#broken) return;
    const { maxMessageLength, lengthUnit } = this.#deps.adapter.capabilities;
    const chunks = this.#text ? splitMessage(this.#text, maxMessageLength, lengthUnit ?? "utf16") : [];
    for (let i = 0; i < chunks.length - 1; i++) {
      const shown = this.#messages[i];
      const part = { index: i, count: chunks.length };
      if (shown?.final) continue;
      // More steps remain after this one: come back without waiting for new text.
      this.#dirty = true;
      if (!shown) this.#messages.push(await this.#send({ text: chunks[i]!, format: "markdown", part }));
      else {
        await this.#edit(shown, { text: chunks[i]!, format: "markdown", part });
        shown.final = true;
      }
      return;
    }
    const index = Math.max(0, chunks.length - 1);
    const live = this.#liveText(chunks[index]);
    if (!live.trim()) return;
    const shown = this.#messages[index];
    const message: OutboundMessage = { text: live, format: "plain", part: { index, count: index + 1 } };
    if (!shown) this.#messages.push(await this.#send(message));
    else if (shown.text !== live) await this.#edit(shown, message);
  }

  /** The text of the message being written: cut after the last whole word, with the tool status line. */
  #liveText(chunk?: string): string {
    let text = chunk;
    if (text === undefined) {
      const { maxMessageLength, lengthUnit } = this.#deps.adapter.capabilities;
      const chunks = this.#text ? splitMessage(this.#text, maxMessageLength, lengthUnit ?? "utf16") : [];
      text = chunks[chunks.length - 1] ?? "";
    }
    const cut = text.search(/\s\S*$/);
    if (cut > text.length / 2) text = text.slice(0, cut);
    text = text.trimEnd();
    const status = this.#status;
    if (!status) return text;
    const withStatus = text ? `${text}\n\n${status}` : status;
    const { maxMessageLength } = this.#deps.adapter.capabilities;
    return Buffer.byteLength(withStatus) <= maxMessageLength ? withStatus : text;
  }

  async #send(message: OutboundMessage): Promise<Shown> {
    const { adapter, address, ops, logger } = this.#deps;
    let messageId = "";
    await guardedSend(
      ops,
      { platform: address.platform, account: address.account, turnId: this.#deps.turnId },
      async (counted) => {
        const sent = await withRetry(() => adapter.send(address, message), {
          ...this.#deps.retry,
          onRetry: () => counted(),
        });
        messageId = sent.messageId;
      },
      logger,
    );
    return { messageId, text: message.text, final: message.format === "markdown" };
  }

  async #edit(shown: Shown, message: OutboundMessage): Promise<void> {
    const { adapter, address } = this.#deps;
    if (!adapter.edit) throw new PlatformError(address.platform, "the adapter cannot edit messages");
    await adapter.edit(address, shown.messageId, message);
    shown.text = message.text;
  }

  async #sendAll(chunks: string[], format: "markdown" | "plain", from: number, count: number) {
    for (let i = 0; i < chunks.length; i++) {
      const part = { index: from + i, count };
      const shown = await this.#paced(() => this.#send({ text: chunks[i]!, format, part }));
      this.#messages[from + i] = { ...shown, final: true };
    }
  }

  /** An intermediate update failed: a rate limit widens the interval; a lasting failure stops the edits. */
  #failed(err: unknown): void {
    const { logger, address } = this.#deps;
    if (err instanceof RateLimitError || (err as PlatformError)?.status === 429) {
      const after = err instanceof RateLimitError ? err.retryAfterMs : 0;
      this.#intervalMs = Math.min(MAX_EDIT_INTERVAL_MS, Math.max(this.#intervalMs * 2, after));
      logger.info(
        { platform: address.platform, intervalMs: this.#intervalMs },
        "rate limited while streaming a reply; editing less often",
      );
      this.#dirty = true;
      return;
    }
    if (isRetryable(err)) {
      this.#dirty = true;
      return;
    }
    logger.warn({ err, platform: address.platform }, "streaming the reply failed; it is sent when complete");
    this.#broken = true;
  }
}
