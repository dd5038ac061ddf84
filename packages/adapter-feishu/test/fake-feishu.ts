import { randomBytes, randomUUID } from "node:crypto";
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
import { type WebSocket, WebSocketServer } from "ws";
import { defaultWebhookPath } from "../src/types.ts";
import { encryptEvent, eventSignature } from "../src/webhook.ts";
import { decodeFrame, encodeFrame, type Frame, header } from "./pbbp2.ts";

/** One app the fake knows: credentials, the bot's identity, and how events reach the gateway. */
export interface FakeFeishuApp {
  account: string;
  appId: string;
  appSecret: string;
  botOpenId: string;
  botName: string;
  mode: "websocket" | "webhook";
  encryptKey?: string;
  verificationToken?: string;
  webhookPath: string;
}

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  auth: string | undefined;
}

const SERVICE_ID = 7;

/** Two apps, `default` and `second` (webhook mode: encrypted and signed, with a verification token). */
export function defaultApps(mode: "websocket" | "webhook" = "websocket"): FakeFeishuApp[] {
  return ["default", "second"].map((account, i) => ({
    account,
    appId: `cli_a1b2c3d4e5f6071${i}`,
    appSecret: `secret-${account}`,
    botOpenId: `ou_bot_${account}`,
    botName: `Bot ${account}`,
    mode,
    ...(mode === "webhook"
      ? { encryptKey: `enc-key-${account}`, verificationToken: `vtoken-${account}` }
      : {}),
    webhookPath: defaultWebhookPath(account),
  }));
}

/** The `platforms.feishu` section for the fake's apps. */
export function feishuSection(fake: FakeFeishu): Record<string, unknown> {
  const accounts: Record<string, Record<string, unknown>> = {};
  for (const app of fake.apps.values()) {
    accounts[app.account] = {
      app_id: app.appId,
      app_secret: app.appSecret,
      domain: fake.url,
      mode: app.mode,
      ...(app.encryptKey ? { encrypt_key: app.encryptKey } : {}),
      ...(app.verificationToken ? { verification_token: app.verificationToken } : {}),
      webhook_path: app.webhookPath,
    };
  }
  return { accounts };
}

export interface WebhookDelivery {
  /** Encrypt with this key (default: the app's). `null` sends plaintext. */
  encryptKey?: string | null;
  /** Sign with this key (default: the encryption key). `null` sends no signature headers. */
  signKey?: string | null;
  timestamp?: number;
  signature?: string;
  /** Send this body verbatim instead of the encrypted payload. */
  rawBody?: string;
}

function postText(content: unknown): string {
  const c = content as Record<string, unknown>;
  const post = (Array.isArray(c.content) ? c : Object.values(c)[0]) as {
    title?: string;
    content?: Array<Array<Record<string, string>>>;
  };
  const lines = (post.content ?? []).map((p) =>
    p
      .map((e) => (e.tag === "hr" ? "---" : e.tag === "at" ? `@${e.user_name ?? e.user_id}` : (e.text ?? "")))
      .join(""),
  );
  return [post.title, ...lines].filter((l) => l !== undefined && l !== "").join("\n");
}

/**
 * A fake Feishu open platform on 127.0.0.1: the OpenAPI calls the adapter makes (tenant token, bot info,
 * message create/reply/update), the long connection's endpoint discovery and WebSocket (protobuf frames), and
 * Feishu's side of webhook delivery (AES-encrypted, signed POSTs to the gateway). Records every call; can fail
 * sends (429/5xx), refuse rich text, and invalidate tokens.
 */
export class FakeFeishu implements FakePlatform {
  readonly apps: Map<string, FakeFeishuApp>;
  readonly calls: RecordedCall[] = [];
  readonly gatewayUrl: string;
  url = "";
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Map<string, WebSocket>();
  readonly #connectWaiters: Array<() => void> = [];
  readonly #acks = new Map<string, (frame: Frame) => void>();
  readonly #tokens = new Map<string, { account: string; dead?: boolean }>();
  readonly #messages = new Map<string, { chatId: string; threadRoot?: string }>();
  readonly #sent = new SentLog();
  readonly #edits: Array<{ account: string; messageId: string; text: string; msgType: string }> = [];
  #failures: Array<{ status: number; retryAfterSeconds?: number }> = [];
  #rejectFormatted = 0;
  #seq = 0;
  /** Images sent with text arrive as a post; files alone (Feishu's file messages have no caption). */
  readonly media = { in: true, out: true };
  /** Message resources users sent (`<message_id>/<key>`), and what the bot uploaded (by key). */
  readonly #resources = new Map<string, FakeMedia>();
  readonly #uploaded = new Map<string, { name: string; data: Uint8Array; as: string }>();
  readonly #uploads: FakeUpload[] = [];

  private constructor(gatewayUrl: string, apps: FakeFeishuApp[]) {
    this.gatewayUrl = gatewayUrl;
    this.apps = new Map(apps.map((a) => [a.account, a]));
    this.#server = createServer((req, res) => {
      void this.#serve(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    this.#wss = new WebSocketServer({ server: this.#server, path: "/ws" });
    this.#wss.on("connection", (ws, req) => this.#onSocket(ws, req));
  }

  static async start(opts: {
    gatewayUrl: string;
    apps?: FakeFeishuApp[];
    mode?: "websocket" | "webhook";
  }): Promise<FakeFeishu> {
    const fake = new FakeFeishu(opts.gatewayUrl, opts.apps ?? defaultApps(opts.mode));
    await new Promise<void>((r) => fake.#server.listen(0, "127.0.0.1", r));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  app(account = "default"): FakeFeishuApp {
    const app = this.apps.get(account);
    if (!app) throw new Error(`the fake has no app for account ${account}`);
    return app;
  }

  /** Tenant tokens issued so far, with the account each belongs to. */
  tokens(): Array<{ token: string; account: string }> {
    return [...this.#tokens].map(([token, t]) => ({ token, account: t.account }));
  }

  /** Make every token issued so far to `account` invalid (code 99991663). */
  expireTokens(account: string): void {
    for (const t of this.#tokens.values()) if (t.account === account) t.dead = true;
  }

  edits(): Array<{ account: string; messageId: string; text: string; msgType: string }> {
    return [...this.#edits];
  }

  /** Whether `account`'s app holds a long connection. */
  connected(account = "default"): boolean {
    return this.#sockets.has(this.app(account).appId);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const type = req.headers["content-type"] ?? "";
    let form: FormData | undefined;
    if (type.startsWith("multipart/form-data"))
      form = await new Request("http://fake/", {
        method: "POST",
        headers: { "content-type": type },
        body: bytes,
      }).formData();
    const raw = form ? "" : bytes.toString("utf8");
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    this.calls.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      auth: req.headers.authorization,
    });
    const out = (o: unknown, status = 200, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(o));
    };

    if (url.pathname === "/callback/ws/endpoint") {
      const app = [...this.apps.values()].find(
        (a) => a.appId === body.AppID && a.appSecret === body.AppSecret,
      );
      if (!app) return out({ code: 1000040343, msg: "app secret invalid", data: {} });
      const port = (this.#server.address() as AddressInfo).port;
      return out({
        code: 0,
        msg: "ok",
        data: {
          URL: `ws://127.0.0.1:${port}/ws?device_id=dev-${app.account}&service_id=${SERVICE_ID}&app=${app.appId}`,
          ClientConfig: { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 0 },
        },
      });
    }
    if (url.pathname === "/open-apis/auth/v3/tenant_access_token/internal") {
      const app = [...this.apps.values()].find(
        (a) => a.appId === body.app_id && a.appSecret === body.app_secret,
      );
      if (!app) return out({ code: 10014, msg: "app secret invalid" });
      const token = `t-${app.account}-${randomBytes(4).toString("hex")}-${++this.#seq}`;
      this.#tokens.set(token, { account: app.account });
      return out({ code: 0, msg: "ok", tenant_access_token: token, expire: 7200 });
    }
    const token = this.#tokens.get(req.headers.authorization?.replace(/^Bearer /, "") ?? "");
    if (!token || token.dead)
      return out({ code: 99991663, msg: "Invalid access token for authorization." }, 400);
    const app = this.app(token.account);

    if (req.method === "GET" && url.pathname === "/open-apis/bot/v3/info") {
      return out({
        code: 0,
        msg: "ok",
        bot: {
          activate_status: 2,
          app_name: app.botName,
          avatar_url: "",
          ip_white_list: [],
          open_id: app.botOpenId,
        },
      });
    }
    const resource = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/resources\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && resource) {
      const file = this.#resources.get(`${resource[1]}/${resource[2]}`);
      if (!file) return out({ code: 234003, msg: "File not in msg." }, 400);
      res.writeHead(200, { "content-type": file.mimeType, "content-length": String(file.data.byteLength) });
      return void res.end(file.data);
    }
    if (
      req.method === "POST" &&
      form &&
      (url.pathname === "/open-apis/im/v1/images" || url.pathname === "/open-apis/im/v1/files")
    ) {
      const image = url.pathname.endsWith("/images");
      const part = form.get(image ? "image" : "file");
      if (!(part instanceof Blob)) return out({ code: 234001, msg: "Invalid request param." }, 400);
      const key = `${image ? "img" : "file"}_up_${++this.#seq}`;
      this.#uploaded.set(key, {
        name: image ? (part instanceof File ? part.name : "image") : String(form.get("file_name")),
        data: new Uint8Array(await part.arrayBuffer()),
        as: image ? "image" : `file:${String(form.get("file_type"))}`,
      });
      return out({ code: 0, msg: "success", data: image ? { image_key: key } : { file_key: key } });
    }
    const reply = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(url.pathname);
    const update = /^\/open-apis\/im\/v1\/messages\/([^/]+)$/.exec(url.pathname);
    if (req.method === "POST" && (url.pathname === "/open-apis/im/v1/messages" || reply)) {
      const failure = this.#failures.shift();
      if (failure?.status === 429) {
        const headers: Record<string, string> = failure.retryAfterSeconds
          ? { "x-ogw-ratelimit-reset": String(failure.retryAfterSeconds) }
          : {};
        return out({ code: 99991400, msg: "request trigger frequency limit" }, 429, headers);
      }
      if (failure) return out({ code: failure.status, msg: "internal error" }, failure.status);
      const msgType = String(body.msg_type);
      if (msgType === "post" && this.#rejectFormatted > 0) {
        this.#rejectFormatted--;
        return out(
          {
            code: 230001,
            msg: "Your request contains an invalid request parameter, ext=invalid post content",
          },
          400,
        );
      }
      let chatId: string;
      let threadRoot: string | undefined;
      if (reply) {
        const target = this.#messages.get(reply[1]!);
        if (!target) return out({ code: 230002, msg: "The message was not found" }, 400);
        chatId = target.chatId;
        threadRoot = target.threadRoot ?? (body.reply_in_thread ? reply[1] : undefined);
      } else {
        if (url.searchParams.get("receive_id_type") !== "chat_id")
          return out({ code: 99992402, msg: "field validation failed" }, 400);
        chatId = String(body.receive_id);
      }
      const content = JSON.parse(String(body.content)) as Record<string, unknown>;
      const text = msgType === "post" ? postText(content) : String(content.text ?? "");
      const messageId = `om_sent_${++this.#seq}`;
      this.#messages.set(messageId, { chatId, ...(threadRoot ? { threadRoot } : {}) });
      if (msgType === "image" || msgType === "file") {
        const up = this.#uploaded.get(String(content.image_key ?? content.file_key));
        if (!up) return out({ code: 230001, msg: "invalid image_key or file_key" }, 400);
        this.#uploads.push({
          account: token.account,
          chatId,
          ...(threadRoot ? { threadId: threadRoot } : {}),
          name: up.name,
          data: up.data,
          as: up.as,
          raw: body,
        });
        return out({
          code: 0,
          msg: "success",
          data: { message_id: messageId, chat_id: chatId, msg_type: msgType },
        });
      }
      const sent: FakeSent = {
        account: token.account,
        chatId,
        ...(threadRoot ? { threadId: threadRoot } : {}),
        text,
        ...(msgType === "post" ? { format: "post" } : {}),
        raw: body,
      };
      this.#sent.push(sent);
      return out({
        code: 0,
        msg: "success",
        data: {
          message_id: messageId,
          chat_id: chatId,
          msg_type: msgType,
          create_time: String(Date.now()),
          body: { content: body.content },
        },
      });
    }
    if (req.method === "PUT" && update) {
      if (!this.#messages.has(update[1]!))
        return out({ code: 230002, msg: "The message was not found" }, 400);
      const msgType = String(body.msg_type);
      const content = JSON.parse(String(body.content)) as Record<string, unknown>;
      this.#edits.push({
        account: token.account,
        messageId: update[1]!,
        msgType,
        text: msgType === "post" ? postText(content) : String(content.text),
      });
      return out({ code: 0, msg: "success", data: { message_id: update[1], msg_type: msgType } });
    }
    out({ code: 404, msg: "not found" }, 404);
  }

  #onSocket(ws: WebSocket, req: IncomingMessage): void {
    const appId = new URL(req.url ?? "/", "http://fake").searchParams.get("app") ?? "";
    this.#sockets.set(appId, ws);
    for (const w of this.#connectWaiters.splice(0)) w();
    ws.on("message", (data: Buffer) => {
      const frame = decodeFrame(data);
      if (frame.method === 0 && header(frame, "type") === "ping") {
        const config = { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 0 };
        ws.send(
          encodeFrame({
            ...frame,
            headers: [{ key: "type", value: "pong" }],
            payload: Buffer.from(JSON.stringify(config)),
          }),
        );
      } else if (frame.method === 1) {
        const id = header(frame, "message_id");
        if (id) this.#acks.get(id)?.(frame);
      }
    });
    ws.on("close", () => {
      if (this.#sockets.get(appId) === ws) this.#sockets.delete(appId);
    });
  }

  async #socketOf(app: FakeFeishuApp, timeoutMs = 5000): Promise<WebSocket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ws = this.#sockets.get(app.appId);
      if (ws) return ws;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the ${app.account} app has no long connection`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#connectWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Push an event frame over `account`'s long connection; resolves with the client's ack payload. */
  async sendWsEvent(account: string, payload: unknown, timeoutMs = 5000): Promise<{ code: number }> {
    const app = this.app(account);
    const ws = await this.#socketOf(app, timeoutMs);
    const id = randomUUID();
    const acked = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        reject(new Error("the client did not ack the event"));
      }, timeoutMs);
      this.#acks.set(id, (frame) => {
        clearTimeout(timer);
        this.#acks.delete(id);
        resolve(frame);
      });
    });
    const seq = ++this.#seq;
    ws.send(
      encodeFrame({
        SeqID: seq,
        LogID: seq,
        service: SERVICE_ID,
        method: 1,
        headers: [
          { key: "type", value: "event" },
          { key: "message_id", value: id },
          { key: "sum", value: "1" },
          { key: "seq", value: "0" },
          { key: "trace_id", value: `trace-${seq}` },
        ],
        payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    const ack = await acked;
    return JSON.parse(Buffer.from(ack.payload ?? []).toString("utf8")) as { code: number };
  }

  /** POST an event to `account`'s webhook as Feishu does (encrypted and signed when the app has a key). */
  async postWebhook(account: string, payload: unknown, opts: WebhookDelivery = {}): Promise<Response> {
    const app = this.app(account);
    const encryptKey = opts.encryptKey === undefined ? app.encryptKey : (opts.encryptKey ?? undefined);
    const body =
      opts.rawBody ??
      JSON.stringify(encryptKey ? { encrypt: encryptEvent(encryptKey, JSON.stringify(payload)) } : payload);
    const headers: Record<string, string> = { "content-type": "application/json" };
    const signKey = opts.signKey === undefined ? encryptKey : (opts.signKey ?? undefined);
    if (signKey !== undefined) {
      const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
      const nonce = randomBytes(8).toString("hex");
      headers["x-lark-request-timestamp"] = timestamp;
      headers["x-lark-request-nonce"] = nonce;
      headers["x-lark-signature"] = opts.signature ?? eventSignature(timestamp, nonce, signKey, body);
    }
    return fetch(`${this.gatewayUrl}${app.webhookPath}`, { method: "POST", headers, body });
  }

  /** The `im.message.receive_v1` envelope Feishu would send for `m`. */
  receiveEvent(m: FakeInbound): Record<string, unknown> {
    const app = this.app(m.account);
    const messageId = m.messageId ?? `om_in_${++this.#seq}`;
    const thread = m.chatType === "thread" && m.threadId ? m.threadId : undefined;
    this.#messages.set(messageId, { chatId: m.chatId, ...(thread ? { threadRoot: thread } : {}) });
    if (thread && !this.#messages.has(thread))
      this.#messages.set(thread, { chatId: m.chatId, threadRoot: thread });
    const sender = m.fromSelf
      ? {
          sender_id: { open_id: app.botOpenId, union_id: "", user_id: "" },
          sender_type: "app",
          tenant_key: "tk",
        }
      : {
          // The suite's user id is the person's stable id, Feishu's union_id (an open_id is per app).
          sender_id: { open_id: `ou_${m.userId}`, union_id: m.userId, user_id: m.userId },
          sender_type: "user",
          tenant_key: "tk",
        };
    return {
      schema: "2.0",
      header: {
        event_id: randomUUID(),
        token: app.verificationToken ?? "",
        create_time: String(Date.now()),
        event_type: "im.message.receive_v1",
        tenant_key: "tk",
        app_id: app.appId,
      },
      event: {
        sender,
        message: {
          message_id: messageId,
          ...(thread ? { root_id: thread, parent_id: thread, thread_id: `omt_${thread}` } : {}),
          create_time: String(Date.now()),
          chat_id: m.chatId,
          chat_type: m.chatType === "dm" ? "p2p" : "group",
          message_type: "text",
          content: JSON.stringify({ text: m.mention ? `@_user_1 ${m.text}` : m.text }),
          mentions: m.mention
            ? [
                {
                  key: "@_user_1",
                  id: { open_id: app.botOpenId, union_id: `on_${app.botOpenId}`, user_id: "" },
                  name: app.botName,
                  tenant_key: "tk",
                },
              ]
            : [],
        },
      },
    };
  }

  /** Deliver an event envelope to `account` the way its app is set up (long connection or webhook). */
  async deliver(account: string, envelope: unknown): Promise<void> {
    const app = this.app(account);
    if (app.mode === "websocket") {
      const ack = await this.sendWsEvent(account, envelope);
      if (ack.code !== 200) throw new Error(`the client acked the event with code ${ack.code}`);
      return;
    }
    const res = await this.postWebhook(account, envelope);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`the gateway answered the event with ${res.status}: ${text}`);
  }

  async inject(message: FakeInbound): Promise<void> {
    const account = message.account ?? "default";
    const [file] = message.media ?? [];
    if (!file) return this.deliver(account, this.receiveEvent(message));
    const envelope = this.receiveEvent(message) as { event: { message: Record<string, unknown> } };
    const msg = envelope.event.message;
    const id = String(msg.message_id);
    if (file.kind === "image") {
      // Text with an image is a post: the text, then the image on its own line.
      const key = `img_v3_${++this.#seq}`;
      this.#resources.set(`${id}/${key}`, file);
      const text = (JSON.parse(String(msg.content)) as { text: string }).text;
      msg.message_type = "post";
      msg.content = JSON.stringify({
        title: "",
        content: [[{ tag: "text", text }], [{ tag: "img", image_key: key }]],
      });
      return this.deliver(account, envelope);
    }
    // A file message carries no text: the text goes first as its own message.
    if (message.text) await this.deliver(account, this.receiveEvent({ ...message, media: [] }));
    const fileEnvelope = this.receiveEvent({
      ...message,
      text: "",
      mention: false,
      media: [],
    }) as typeof envelope;
    const fmsg = fileEnvelope.event.message;
    const key = `file_v3_${++this.#seq}`;
    this.#resources.set(`${String(fmsg.message_id)}/${key}`, file);
    fmsg.message_type = file.kind === "audio" ? "audio" : "file";
    fmsg.content = JSON.stringify(
      file.kind === "audio" ? { file_key: key, duration: 1000 } : { file_key: key, file_name: file.name },
    );
    return this.deliver(account, fileEnvelope);
  }

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++)
      this.#failures.push({ status, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
  }

  rejectNextFormatted(): void {
    this.#rejectFormatted++;
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((r) => this.#wss.close(() => r()));
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
