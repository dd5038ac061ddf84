import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeInbound,
  type FakeMedia,
  type FakePlatform,
  type FakeSent,
  type FakeUpload,
  SentLog,
} from "@switchboard/testing";
import type { MessageEntity, Update } from "grammy/types";
import { parseTelegramHtml } from "./telegram-html.ts";

/** One bot the fake Bot API knows: its token, identity, and the gateway account that uses it. */
export interface FakeBot {
  account: string;
  token: string;
  id: number;
  username: string;
}

export interface FakeCall {
  account: string;
  method: string;
  body: Record<string, unknown>;
}

interface Failure {
  status: number;
  count: number;
  retryAfter?: number;
  description?: string;
}

interface Waiter {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  offset: number | undefined;
  limit: number;
}

interface BotState {
  bot: FakeBot;
  /** Updates not yet confirmed by a `getUpdates` offset above them. */
  queue: Update[];
  nextUpdateId: number;
  waiter: Waiter | undefined;
  webhook: { url: string; secret?: string } | undefined;
}

const MAX_TEXT = 4096;
const json = { "content-type": "application/json" };

/**
 * A fake Telegram Bot API on 127.0.0.1: several bots at once (`/bot<token>/<method>`), `getUpdates`
 * with Telegram's offset and long-poll semantics, webhook delivery after `setWebhook`, `sendMessage`
 * that parses HTML the way Telegram does (and rejects what Telegram rejects), failure injection, and
 * going down and up on the same port. Implements the conformance suite's `FakePlatform`.
 *
 * `sent()[i].text` is the message text as Telegram stores it: entities parsed out of the HTML.
 */
export class FakeTelegram implements FakePlatform {
  readonly calls: FakeCall[] = [];
  readonly webhookResponses: number[] = [];
  readonly #bots = new Map<string, BotState>();
  readonly #sent = new SentLog();
  readonly #failures = new Map<string, Failure[]>();
  readonly #messageIds = new Map<string, number>();
  #rejectFormatted = 0;
  /** Files users sent, by `file_id`, served by `getFile` and `/file/bot<token>/<path>`. */
  readonly #files = new Map<string, FakeMedia>();
  readonly #uploads: FakeUpload[] = [];
  /** File downloads served: the token the URL carried, and the path. */
  readonly downloads: Array<{ token: string; path: string }> = [];
  readonly media = { in: true, out: true };
  #server: Server;
  #port = 0;

  private constructor(bots: FakeBot[]) {
    for (const bot of bots)
      this.#bots.set(bot.token, { bot, queue: [], nextUpdateId: 1, waiter: undefined, webhook: undefined });
    this.#server = this.#createServer();
  }

  static async start(bots: FakeBot[] = [DEFAULT_BOT]): Promise<FakeTelegram> {
    const fake = new FakeTelegram(bots);
    await fake.#listen(0);
    return fake;
  }

  /** The `api_url` for the adapter. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  bot(account = "default"): FakeBot {
    const state = [...this.#bots.values()].find((s) => s.bot.account === account);
    if (!state) throw new Error(`the fake has no bot for account ${account}`);
    return state.bot;
  }

  // --- inbound ------------------------------------------------------------------------------------

  /** Queue a raw update for `account` (or post it to the bot's webhook); returns its `update_id`. */
  async injectUpdate(
    account: string,
    update: Omit<Update, "update_id"> & { update_id?: number },
  ): Promise<number> {
    const state = this.#state(account);
    const full = { ...update, update_id: update.update_id ?? state.nextUpdateId } as Update;
    state.nextUpdateId = Math.max(state.nextUpdateId, full.update_id + 1);
    if (state.webhook) {
      const res = await fetch(state.webhook.url, {
        method: "POST",
        headers: {
          ...json,
          ...(state.webhook.secret ? { "x-telegram-bot-api-secret-token": state.webhook.secret } : {}),
        },
        body: JSON.stringify(full),
      });
      await res.arrayBuffer();
      this.webhookResponses.push(res.status);
      return full.update_id;
    }
    state.queue.push(full);
    this.#wake(state);
    return full.update_id;
  }

  /** Build a message update in Telegram's wire shape and deliver it (conformance entry point). */
  async inject(m: FakeInbound): Promise<void> {
    await this.injectUpdate(m.account ?? "default", { message: this.message(m) });
  }

  /**
   * A user pressing an inline-keyboard button under a message the bot sent (`sent` is what `sent()`
   * returned): Telegram's `callback_query` update with the button's `callback_data`.
   */
  async pressButton(sent: FakeSent, userId: string, data: string): Promise<number> {
    const bot = this.bot(sent.account);
    const chatId = wireId(sent.chatId);
    return this.injectUpdate(sent.account, {
      callback_query: {
        id: `cq-${this.#nextMessageId(bot, "callbacks")}`,
        from: { id: wireId(userId), is_bot: false, first_name: `User ${userId}` },
        chat_instance: String(chatId),
        data,
        message: {
          message_id: Number((sent.raw as { message_id?: number }).message_id ?? 1),
          date: now(),
          chat:
            chatId < 0
              ? { id: chatId, type: "group", title: `Group ${chatId}` }
              : { id: chatId, type: "private", first_name: `User ${chatId}` },
          from: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username },
          text: sent.text,
        },
      },
    } as unknown as Omit<Update, "update_id">);
  }

  /** A `Message` as Telegram would deliver it for a conformance inbound. */
  message(m: FakeInbound): NonNullable<Update["message"]> {
    const bot = this.bot(m.account ?? "default");
    const chatId = wireId(m.chatId);
    const chat =
      m.chatType === "dm"
        ? { id: chatId, type: "private", first_name: m.userName ?? `User ${m.userId}` }
        : m.chatType === "group"
          ? { id: chatId, type: "group", title: `Group ${m.chatId}` }
          : { id: chatId, type: "supergroup", title: `Forum ${m.chatId}`, is_forum: true };
    const from = m.fromSelf
      ? { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username }
      : { id: wireId(m.userId), is_bot: false, first_name: m.userName ?? `User ${m.userId}` };
    let text = m.text;
    const entities: MessageEntity[] = [];
    if (m.mention) {
      text = `@${bot.username} ${text}`;
      entities.push({ type: "mention", offset: 0, length: bot.username.length + 1 });
    }
    const message: Record<string, unknown> = {
      message_id: m.messageId ? Number(m.messageId) : this.#nextMessageId(bot, String(chatId)),
      date: Math.floor(Date.now() / 1000),
      chat,
      from,
      text,
    };
    if (entities.length) message.entities = entities;
    for (const file of m.media ?? []) this.#attach(message, file);
    if (m.media?.length) {
      // A message with files carries its text as the caption.
      if (text) message.caption = text;
      delete message.text;
      if (entities.length) message.caption_entities = entities;
      delete message.entities;
    }
    if (m.chatType === "thread" && m.threadId && m.threadId !== "1") {
      message.message_thread_id = Number(m.threadId);
      message.is_topic_message = true;
    }
    return message as unknown as NonNullable<Update["message"]>;
  }

  /** Register a user's file and put it on the message the way Telegram does (photo sizes, document, voice). */
  #attach(message: Record<string, unknown>, file: FakeMedia): void {
    const id = `file-${this.#files.size + 1}-${file.name}`;
    this.#files.set(id, file);
    const common = { file_id: id, file_unique_id: `u${id}`, file_size: file.data.byteLength };
    if (file.kind === "image") message.photo = [{ ...common, width: 1, height: 1 }];
    else if (file.kind === "audio" && file.voice)
      message.voice = { ...common, duration: 1, mime_type: file.mimeType };
    else if (file.kind === "audio")
      message.audio = { ...common, duration: 1, mime_type: file.mimeType, file_name: file.name };
    else message.document = { ...common, mime_type: file.mimeType, file_name: file.name };
  }

  // --- outbound -----------------------------------------------------------------------------------

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  /** Resolve when a call to `method` matching `predicate` was recorded (past or future). */
  async waitForCall(
    method: string,
    predicate: (c: FakeCall) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<FakeCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const call = this.calls.find((c) => c.method === method && predicate(c));
      if (call) return call;
      if (Date.now() > deadline) throw new Error(`no ${method} call within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // --- failure injection ----------------------------------------------------------------------------

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void {
    this.failNext("sendMessage", status, count, retryAfterSeconds);
  }

  /** Make the next `count` calls of `method` (any bot) fail like Telegram: JSON error, 502 as a proxy page. */
  failNext(
    method: string,
    status: number,
    count: number,
    retryAfterSeconds?: number,
    description?: string,
  ): void {
    const list = this.#failures.get(method) ?? [];
    list.push({
      status,
      count,
      ...(retryAfterSeconds !== undefined ? { retryAfter: retryAfterSeconds } : {}),
      ...(description ? { description } : {}),
    });
    this.#failures.set(method, list);
  }

  rejectNextFormatted(): void {
    this.#rejectFormatted++;
  }

  /** The Bot API goes away: every connection is dropped and the port refuses connections. */
  async down(): Promise<void> {
    for (const state of this.#bots.values()) this.#dropWaiter(state);
    await closeServer(this.#server);
  }

  /** The Bot API comes back on the same port. */
  async up(): Promise<void> {
    this.#server = this.#createServer();
    await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    for (const state of this.#bots.values()) this.#dropWaiter(state);
    if (this.#server.listening) await closeServer(this.#server);
  }

  /** Updates Telegram still holds for `account` (not yet confirmed by an offset). */
  pending(account = "default"): number[] {
    return this.#state(account).queue.map((u) => u.update_id);
  }

  // --- the Bot API ------------------------------------------------------------------------------------

  #createServer(): Server {
    return createServer((req, res) => {
      void this.#serve(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, json);
        res.end(JSON.stringify({ ok: false, error_code: 500, description: String(err) }));
      });
    });
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const download = /^\/file\/bot([^/]+)\/files\/([^/]+)\/[^/]+$/.exec(req.url ?? "");
    if (download && req.method === "GET") {
      const file = this.#bots.has(download[1]!)
        ? this.#files.get(decodeURIComponent(download[2]!))
        : undefined;
      this.downloads.push({ token: download[1]!, path: req.url ?? "" });
      if (!file) return error(res, 404, "Not Found");
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": file.data.byteLength,
      });
      return void res.end(file.data);
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "");
    const state = match ? this.#bots.get(match[1]!) : undefined;
    if (!match || !state) return error(res, 401, "Unauthorized");
    const method = match[2]!;
    const raw = Buffer.concat(chunks);
    const type = req.headers["content-type"] ?? "";
    const form = type.startsWith("multipart/form-data")
      ? await new Request("http://fake/", {
          method: "POST",
          headers: { "content-type": type },
          body: raw,
        }).formData()
      : undefined;
    const body: Record<string, unknown> = form
      ? Object.fromEntries([...form.entries()].map(([k, v]) => [k, typeof v === "string" ? coerce(v) : v]))
      : raw.length
        ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>)
        : {};
    this.calls.push({ account: state.bot.account, method, body });

    const failure = this.#takeFailure(method);
    if (failure) {
      if (failure.status === 502) {
        res.writeHead(502, { "content-type": "text/html" });
        return void res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      }
      const description =
        failure.description ??
        (failure.status === 429
          ? `Too Many Requests: retry after ${failure.retryAfter ?? 1}`
          : "Internal Server Error");
      return error(
        res,
        failure.status,
        description,
        failure.status === 429 ? { retry_after: failure.retryAfter ?? 1 } : undefined,
      );
    }

    const bot = state.bot;
    switch (method) {
      case "getMe":
        return ok(res, {
          id: bot.id,
          is_bot: true,
          first_name: bot.username,
          username: bot.username,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case "deleteWebhook":
        state.webhook = undefined;
        return ok(res, true);
      case "setWebhook":
        state.webhook = {
          url: String(body.url),
          ...(body.secret_token ? { secret: String(body.secret_token) } : {}),
        };
        return ok(res, true);
      case "getUpdates":
        return this.#getUpdates(state, body, res);
      case "sendMessage":
        return this.#sendMessage(state, body, res);
      case "editMessageText": {
        const parsed = this.#parseText(body);
        if ("error" in parsed) return error(res, 400, parsed.error);
        return ok(res, {
          message_id: body.message_id,
          date: now(),
          edit_date: now(),
          chat: { id: body.chat_id, type: "private" },
          text: parsed.text,
        });
      }
      case "answerCallbackQuery":
      case "setMyCommands":
        return ok(res, true);
      case "getFile": {
        const id = String(body.file_id);
        const file = this.#files.get(id);
        if (!file) return error(res, 400, "Bad Request: invalid file_id");
        return ok(res, {
          file_id: id,
          file_unique_id: `u${id}`,
          file_size: file.data.byteLength,
          file_path: `files/${encodeURIComponent(id)}/${file.name}`,
        });
      }
      case "sendPhoto":
      case "sendDocument":
      case "sendVoice":
      case "sendAudio":
      case "sendVideo":
        return this.#sendFile(state, method, body, res);
      case "sendChatAction":
        if (body.message_thread_id === 1) return error(res, 400, "Bad Request: message thread not found");
        return ok(res, true);
      default:
        return error(res, 404, "Not Found: method not found");
    }
  }

  #getUpdates(state: BotState, body: Record<string, unknown>, res: ServerResponse) {
    if (state.webhook) {
      return error(
        res,
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    // Telegram ends an older long poll when a newer one arrives.
    if (state.waiter) {
      const old = state.waiter;
      this.#dropWaiter(state);
      error(
        old.res,
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      );
    }
    const offset = typeof body.offset === "number" ? body.offset : undefined;
    if (offset !== undefined) state.queue = state.queue.filter((u) => u.update_id >= offset);
    const limit = typeof body.limit === "number" ? body.limit : 100;
    const timeout = typeof body.timeout === "number" ? body.timeout : 0;
    if (state.queue.length || timeout <= 0) return ok(res, state.queue.slice(0, limit));
    const waiter: Waiter = {
      res,
      offset,
      limit,
      timer: setTimeout(() => {
        if (state.waiter === waiter) state.waiter = undefined;
        ok(res, []);
      }, timeout * 1000),
    };
    state.waiter = waiter;
    res.on("close", () => {
      if (state.waiter === waiter) this.#dropWaiter(state);
    });
  }

  #sendMessage(state: BotState, body: Record<string, unknown>, res: ServerResponse) {
    if (body.message_thread_id === 1) return error(res, 400, "Bad Request: message thread not found");
    if (body.parse_mode && this.#rejectFormatted > 0) {
      this.#rejectFormatted--;
      return error(
        res,
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
      );
    }
    const parsed = this.#parseText(body);
    if ("error" in parsed) return error(res, 400, parsed.error);
    const chatId = String(body.chat_id);
    const message = {
      message_id: this.#nextMessageId(state.bot, chatId),
      date: now(),
      chat: { id: body.chat_id, type: "private" },
      from: { id: state.bot.id, is_bot: true, first_name: state.bot.username, username: state.bot.username },
      text: parsed.text,
      ...(typeof body.message_thread_id === "number"
        ? { message_thread_id: body.message_thread_id, is_topic_message: true }
        : {}),
    };
    const sent: FakeSent = {
      account: state.bot.account,
      chatId,
      text: parsed.text,
      raw: body,
      ...(body.message_thread_id !== undefined ? { threadId: String(body.message_thread_id) } : {}),
      ...(typeof body.parse_mode === "string" ? { format: body.parse_mode } : {}),
    };
    this.#sent.push(sent);
    ok(res, message);
  }

  /** An upload (multipart, the file under the method's own field): recorded for `uploads()`. */
  async #sendFile(state: BotState, method: string, body: Record<string, unknown>, res: ServerResponse) {
    const field = {
      sendPhoto: "photo",
      sendDocument: "document",
      sendVoice: "voice",
      sendAudio: "audio",
      sendVideo: "video",
    }[method]!;
    let value = body[field];
    // grammY puts the file in its own part and the field names it as `attach://<id>`.
    if (typeof value === "string" && value.startsWith("attach://"))
      value = body[value.slice("attach://".length)];
    if (!(value instanceof Blob)) return error(res, 400, `Bad Request: there is no ${field} in the request`);
    const chatId = String(body.chat_id);
    this.#uploads.push({
      account: state.bot.account,
      chatId,
      name: value instanceof File ? value.name : "file",
      data: new Uint8Array(await value.arrayBuffer()),
      as: method,
      ...(typeof body.caption === "string" ? { caption: body.caption } : {}),
      ...(body.message_thread_id !== undefined ? { threadId: String(body.message_thread_id) } : {}),
      raw: body,
    });
    ok(res, {
      message_id: this.#nextMessageId(state.bot, chatId),
      date: now(),
      chat: { id: body.chat_id, type: "private" },
      [field]:
        field === "photo"
          ? [{ file_id: "up", file_unique_id: "up", width: 1, height: 1 }]
          : { file_id: "up" },
    });
  }

  /** The stored text of a send/edit: HTML entities parsed out, length and emptiness checked like Telegram. */
  #parseText(body: Record<string, unknown>): { text: string } | { error: string } {
    const raw = typeof body.text === "string" ? body.text : "";
    let text = raw;
    if (body.parse_mode === "HTML") {
      const parsed = parseTelegramHtml(raw);
      if ("error" in parsed) return { error: `Bad Request: can't parse entities: ${parsed.error}` };
      text = parsed.text;
    } else if (body.parse_mode !== undefined) {
      return { error: `Bad Request: unsupported parse_mode ${String(body.parse_mode)} in this fake` };
    }
    if (!text.trim()) return { error: "Bad Request: message text is empty" };
    if (text.length > MAX_TEXT) return { error: "Bad Request: message is too long" };
    return { text };
  }

  #takeFailure(method: string): Failure | undefined {
    const list = this.#failures.get(method);
    const head = list?.[0];
    if (!head) return undefined;
    if (--head.count <= 0) list!.shift();
    return head;
  }

  #wake(state: BotState): void {
    const w = state.waiter;
    if (!w) return;
    this.#dropWaiter(state);
    const updates = state.queue
      .filter((u) => w.offset === undefined || u.update_id >= w.offset)
      .slice(0, w.limit);
    ok(w.res, updates);
  }

  #dropWaiter(state: BotState): void {
    if (!state.waiter) return;
    clearTimeout(state.waiter.timer);
    state.waiter = undefined;
  }

  #state(account: string): BotState {
    const state = [...this.#bots.values()].find((s) => s.bot.account === account);
    if (!state) throw new Error(`the fake has no bot for account ${account}`);
    return state;
  }

  #nextMessageId(bot: FakeBot, chatId: string): number {
    const key = `${bot.token}/${chatId}`;
    const next = (this.#messageIds.get(key) ?? 0) + 1;
    this.#messageIds.set(key, next);
    return next;
  }
}

export const DEFAULT_BOT: FakeBot = {
  account: "default",
  token: "111111:default-token",
  id: 111111,
  username: "switchboard_bot",
};
export const SECOND_BOT: FakeBot = {
  account: "second",
  token: "222222:second-token",
  id: 222222,
  username: "second_bot",
};

function ok(res: ServerResponse, result: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(200, json);
  res.end(JSON.stringify({ ok: true, result }));
}

function error(
  res: ServerResponse,
  code: number,
  description: string,
  parameters?: Record<string, unknown>,
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(code, json);
  res.end(
    JSON.stringify({ ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }),
  );
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** Telegram ids are integers on the wire; other strings pass through so tests may use any id. */
function wireId(id: string): number {
  return /^-?\d+$/.test(id) ? Number(id) : (id as unknown as number);
}

/** Multipart fields are strings; numbers (chat ids, thread ids) go back to numbers like Telegram reads them. */
function coerce(v: string): unknown {
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
