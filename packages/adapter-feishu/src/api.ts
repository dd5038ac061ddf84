import * as lark from "@larksuiteoapi/node-sdk";
import type { Logger } from "@switchboard/core";
import { TOKEN_CODES, toPlatformError } from "./errors.ts";
import { createHttpInstance } from "./http.ts";
import type { FeishuResponse } from "./types.ts";

/**
 * The SDK's token cache, one per account. The SDK's default cache is module-global (keyed by app id), so two
 * accounts of one app, or an app whose secret changed, would share a token; and it cannot be dropped when
 * Feishu says the token is no longer valid.
 */
export class TokenCache implements lark.Cache {
  readonly #entries = new Map<string, { value: unknown; expiresAt: number | undefined }>();

  readonly get: lark.Cache["get"] = async (key, options) => {
    const k = `${options?.namespace ?? ""}\u0000${String(key)}`;
    const entry = this.#entries.get(k);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(k);
      return undefined;
    }
    return entry.value;
  };

  readonly set: lark.Cache["set"] = async (key, value, expire, options) => {
    this.#entries.set(`${options?.namespace ?? ""}\u0000${String(key)}`, { value, expiresAt: expire });
    return true;
  };

  clear(): void {
    this.#entries.clear();
  }
}

/** The SDK's logger interface onto ours; the SDK's chatty info lines become debug. */
export function larkLogger(logger: Logger): lark.Logger {
  const line = (args: unknown[]) =>
    args
      .flat()
      .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : safeJson(a)))
      .join(" ");
  return {
    error: (...args) => logger.warn(line(args)),
    warn: (...args) => logger.warn(line(args)),
    info: (...args) => logger.debug(line(args)),
    debug: (...args) => logger.debug(line(args)),
    trace: () => {},
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface FeishuApiOptions {
  appId: string;
  appSecret: string;
  baseUrl: string;
  logger: Logger;
  /** Aborts requests in flight when the adapter stops. */
  signal: () => AbortSignal | undefined;
}

export interface BotInfo {
  openId: string;
  name?: string;
}

/** Where a message goes: a new message in a chat, or a reply to a message (in its thread when asked). */
export type FeishuTarget = { chatId: string } | { replyTo: string; inThread: boolean };

/** The OpenAPI calls the adapter makes, through one SDK `Client` per account. */
export class FeishuApi {
  readonly client: lark.Client;
  readonly cache = new TokenCache();
  readonly httpInstance: lark.HttpInstance;

  constructor(opts: FeishuApiOptions) {
    this.httpInstance = createHttpInstance(opts.signal);
    this.client = new lark.Client({
      appId: opts.appId,
      appSecret: opts.appSecret,
      domain: opts.baseUrl,
      cache: this.cache,
      httpInstance: this.httpInstance,
      logger: larkLogger(opts.logger),
      loggerLevel: lark.LoggerLevel.info,
    });
  }

  /** The bot's own identity (its `open_id` is how mentions of it are recognised). */
  async botInfo(): Promise<BotInfo> {
    const res = await this.#call("bot info", () =>
      this.client.request<FeishuResponse & { bot?: { open_id?: string; app_name?: string } }>({
        method: "GET",
        url: "/open-apis/bot/v3/info",
      }),
    );
    if (!res.bot?.open_id)
      throw toPlatformError({ action: "bot info", msg: "the answer names no bot open_id" });
    return { openId: res.bot.open_id, ...(res.bot.app_name ? { name: res.bot.app_name } : {}) };
  }

  /** Send a message; returns its `message_id`. */
  async send(target: FeishuTarget, msgType: string, content: string): Promise<string> {
    const res =
      "chatId" in target
        ? await this.#call("im.message.create", () =>
            this.client.im.v1.message.create({
              params: { receive_id_type: "chat_id" },
              data: { receive_id: target.chatId, msg_type: msgType, content },
            }),
          )
        : await this.#call("im.message.reply", () =>
            this.client.im.v1.message.reply({
              path: { message_id: target.replyTo },
              data: { msg_type: msgType, content, ...(target.inThread ? { reply_in_thread: true } : {}) },
            }),
          );
    return res.data?.message_id ?? "";
  }

  /** Upload an image for a message; returns its `image_key` (Feishu takes images up to 10 MB). */
  async uploadImage(data: Uint8Array): Promise<string> {
    const res = await this.#call("im.image.create", async () => {
      const key = await this.client.im.image.create({
        data: { image_type: "message", image: Buffer.from(data) as never },
      });
      return key?.image_key
        ? { code: 0, key: key.image_key }
        : { code: -1, msg: "no image_key in the answer" };
    });
    return (res as { key: string }).key;
  }

  /** Upload a file for a message; returns its `file_key` (up to 30 MB). */
  async uploadFile(name: string, data: Uint8Array, fileType: string): Promise<string> {
    const res = await this.#call("im.file.create", async () => {
      const key = await this.client.im.file.create({
        data: { file_type: fileType as never, file_name: name, file: Buffer.from(data) as never },
      });
      return key?.file_key ? { code: 0, key: key.file_key } : { code: -1, msg: "no file_key in the answer" };
    });
    return (res as { key: string }).key;
  }

  /**
   * A file of a message the bot can see (`im.messageResource.get`), as a stream with the answer's headers.
   * @see https://open.feishu.cn/document/server-docs/im-v1/message/get-2
   */
  async resource(
    messageId: string,
    fileKey: string,
    type: "image" | "file",
  ): Promise<{ stream: NodeJS.ReadableStream; headers: Record<string, string> }> {
    try {
      const res = await this.client.im.messageResource.get({
        path: { message_id: messageId, file_key: fileKey },
        params: { type },
      });
      return { stream: res.getReadableStream(), headers: (res.headers ?? {}) as Record<string, string> };
    } catch (err) {
      throw toPlatformError(err, "im.messageResource.get");
    }
  }

  /** Replace the content of a message the bot sent (text or post). */
  async update(messageId: string, msgType: string, content: string): Promise<void> {
    await this.#call("im.message.update", () =>
      this.client.im.v1.message.update({
        path: { message_id: messageId },
        data: { msg_type: msgType, content },
      }),
    );
  }

  /**
   * Run one call. The SDK returns `{code != 0}` bodies and throws on non-2xx answers; both become platform
   * errors here. A token Feishu no longer accepts is dropped from this account's cache and the call is retried once.
   */
  async #call<T extends FeishuResponse>(action: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let res: T;
      try {
        res = await fn();
      } catch (err) {
        const code = (err as { response?: { data?: { code?: unknown } } }).response?.data?.code;
        if (attempt === 1 && typeof code === "number" && TOKEN_CODES.has(code)) {
          this.cache.clear();
          continue;
        }
        throw toPlatformError(err, action);
      }
      if (res?.code === undefined || res.code === 0) return res;
      if (attempt === 1 && TOKEN_CODES.has(res.code)) {
        this.cache.clear();
        continue;
      }
      throw toPlatformError({ action, code: res.code, ...(res.msg ? { msg: res.msg } : {}) });
    }
  }
}
