import { createHmac } from "node:crypto";
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
import { WebSocket, WebSocketServer } from "ws";

/** One workspace installation the fake knows: its tokens and the bot's ids. */
export interface FakeWorkspace {
  account: string;
  botToken: string;
  appToken: string;
  signingSecret: string;
  teamId: string;
  botUserId: string;
  botId: string;
}

export interface FakeCall {
  method: string;
  /** The bearer token the call carried. */
  token: string | undefined;
  body: Record<string, string>;
}

export interface FakeSlackOptions {
  mode: "socket" | "http";
  workspaces?: FakeWorkspace[];
  /** The gateway listener HTTP-mode events are posted to. */
  gatewayUrl?: string;
  /** Where each account's events are mounted (default the adapter's `/slack/<account>/events`). */
  eventsPath?: (account: string) => string;
}

/** The Events API retry headers Slack adds when it redelivers an event. */
export interface DeliveryOptions {
  retryNum?: number;
}

export const DEFAULT_WORKSPACES: FakeWorkspace[] = [
  {
    account: "default",
    botToken: "xoxb-default-token",
    appToken: "xapp-default-token",
    signingSecret: "default-signing-secret",
    teamId: "T0DEFAULT",
    botUserId: "UBOTDEFAULT",
    botId: "BDEFAULT",
  },
  {
    account: "second",
    botToken: "xoxb-second-token",
    appToken: "xapp-second-token",
    signingSecret: "second-signing-secret",
    teamId: "T0SECOND",
    botUserId: "UBOTSECOND",
    botId: "BSECOND",
  },
];

const WAIT_MS = 5000;

/** `x-slack-signature` for a body, as Slack computes it. */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  return "v0=" + createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex");
}

/** POST a body to an events URL signed with `secret` (optionally at another time, or with a bad secret). */
export function signedPost(
  url: string,
  body: string,
  options: { secret: string; timestamp?: number; headers?: Record<string, string> },
): Promise<Response> {
  const ts = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-slack-request-timestamp": ts,
      "x-slack-signature": slackSignature(options.secret, ts, body),
      ...options.headers,
    },
    body,
  });
}

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
  timer: NodeJS.Timeout;
}

/**
 * A fake Slack on 127.0.0.1: the Web API (`POST /api/<method>`, form or JSON bodies, always the
 * shapes Slack answers with), a Socket Mode WebSocket per workspace (`hello`, `events_api`
 * envelopes, acks recorded), and signed Events API POSTs to the gateway for HTTP mode.
 */
export class FakeSlack implements FakePlatform {
  readonly mode: "socket" | "http";
  readonly apiUrl: string;
  readonly workspaces: FakeWorkspace[];
  #gatewayUrl: string | undefined;
  readonly #eventsPath: (account: string) => string;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #calls = new SentLog<FakeCall>((c) => c.method);
  readonly #sent = new SentLog();
  readonly #acks = new SentLog<string>((id) => id);
  readonly #sockets = new Map<string, WebSocket>();
  readonly #connectWaiters = new Set<Waiter<string>>();
  #failures: Array<{ status: number; retryAfter: number | undefined; error?: string }> = [];
  #seq = 0;
  readonly media = { in: true, out: true };
  /** Files users shared, by id, served at `url_private` to a request with that workspace's bot token. */
  readonly #files = new Map<string, { file: FakeMedia; botToken: string }>();
  /** Reserved uploads (`files.getUploadURLExternal`) and their bytes once posted. */
  readonly #pendingUploads = new Map<string, { filename: string; data?: Uint8Array }>();
  readonly #uploads: FakeUpload[] = [];
  /** Authorization headers of file downloads, in order. */
  readonly downloads: Array<{ authorization: string | undefined; path: string }> = [];
  /** How many Socket Mode connections each account has opened. */
  readonly connections = new Map<string, number>();

  private constructor(options: FakeSlackOptions, server: Server, wss: WebSocketServer) {
    this.mode = options.mode;
    this.workspaces = options.workspaces ?? DEFAULT_WORKSPACES;
    this.#gatewayUrl = options.gatewayUrl;
    this.#eventsPath = options.eventsPath ?? ((account) => `/slack/${account}/events`);
    this.#server = server;
    this.#wss = wss;
    this.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  }

  static async start(options: FakeSlackOptions): Promise<FakeSlack> {
    let fake: FakeSlack | undefined;
    const server = createServer((req, res) => {
      void fake?.handleApi(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    const wss = new WebSocketServer({ server, path: "/link/" });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeSlack(options, server, wss);
    wss.on("connection", (ws, req) => fake?.onSocket(ws, req));
    return fake;
  }

  set gatewayUrl(url: string) {
    this.#gatewayUrl = url;
  }

  workspace(account = "default"): FakeWorkspace {
    const ws = this.workspaces.find((w) => w.account === account);
    if (!ws) throw new Error(`fake slack has no workspace for account ${account}`);
    return ws;
  }

  /** The `platforms.slack` section pointing at this fake, one account per workspace. */
  config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const accounts: Record<string, Record<string, unknown>> = {};
    for (const w of this.workspaces) {
      accounts[w.account] =
        this.mode === "socket"
          ? { bot_token: w.botToken, app_token: w.appToken }
          : { bot_token: w.botToken, signing_secret: w.signingSecret };
    }
    return { mode: this.mode, api_url: this.apiUrl, ...extra, accounts };
  }

  calls(method?: string): FakeCall[] {
    const all = this.#calls.all();
    return method ? all.filter((c) => c.method === method) : all;
  }

  acks(): string[] {
    return this.#acks.all();
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = WAIT_MS): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  waitForCall(
    method: string,
    predicate: (c: FakeCall) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<FakeCall> {
    return this.#calls.waitFor((c) => c.method === method && predicate(c), timeoutMs);
  }

  waitForAck(envelopeId: string, timeoutMs = WAIT_MS): Promise<string> {
    return this.#acks.waitFor((id) => id === envelopeId, timeoutMs);
  }

  /** Resolves once the account's Socket Mode client has connected (and got `hello`). */
  waitForConnection(account = "default", timeoutMs = WAIT_MS): Promise<string> {
    const open = [...this.#sockets.keys()];
    return this.#wait(this.#connectWaiters, open, (a) => a === account, timeoutMs, `socket of ${account}`);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, retryAfter: retryAfterSeconds });
  }

  /** Make the next send answer HTTP 200 `{ok:false, error}`, as Slack reports most failures. */
  failNextSendWithError(error: string): void {
    this.#failures.push({ status: 200, retryAfter: undefined, error });
  }

  /** A fresh, increasing message timestamp. */
  nextTs(): string {
    this.#seq += 1;
    return `1710000000.${String(this.#seq).padStart(6, "0")}`;
  }

  /** An `event_callback` body as Slack wraps an event. */
  eventCallback(account: string, event: Record<string, unknown>): Record<string, unknown> {
    const w = this.workspace(account);
    this.#seq += 1;
    return {
      token: "verification-token",
      team_id: w.teamId,
      api_app_id: `A${w.teamId}`,
      type: "event_callback",
      event_id: `Ev${String(this.#seq).padStart(8, "0")}`,
      event_time: 1700000000,
      authorizations: [{ team_id: w.teamId, user_id: w.botUserId, is_bot: true }],
      event: { team: w.teamId, event_ts: event.ts, ...event },
    };
  }

  /**
   * Deliver an `event_callback` body to an account as Slack would: an `events_api` envelope over its
   * socket (resolves once acked), or a signed POST to the gateway (resolves with the response).
   */
  async deliver(
    account: string,
    body: Record<string, unknown>,
    options: DeliveryOptions = {},
  ): Promise<Response | undefined> {
    if (this.mode === "http") {
      if (!this.#gatewayUrl) throw new Error("fake slack in http mode needs the gateway URL");
      const headers: Record<string, string> =
        options.retryNum !== undefined
          ? { "x-slack-retry-num": String(options.retryNum), "x-slack-retry-reason": "http_timeout" }
          : {};
      return signedPost(`${this.#gatewayUrl}${this.#eventsPath(account)}`, JSON.stringify(body), {
        secret: this.workspace(account).signingSecret,
        headers,
      });
    }
    const socket = this.#sockets.get(account);
    if (!socket || socket.readyState !== WebSocket.OPEN)
      throw new Error(`no Socket Mode connection for ${account}`);
    this.#seq += 1;
    const envelopeId = `env-${this.#seq}`;
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: "events_api",
        accepts_response_payload: false,
        retry_attempt: options.retryNum ?? 0,
        retry_reason: options.retryNum ? "timeout" : "",
        payload: body,
      }),
    );
    await this.waitForAck(envelopeId);
    return undefined;
  }

  /**
   * A user pressing button `index` of a message the bot sent (`sent` as `sent()` returned it): a
   * `block_actions` payload in an `interactive` envelope over the socket (Socket Mode), resolved once acked.
   */
  async pressButton(sent: FakeSent, userId: string, index = 0): Promise<void> {
    const account = sent.account;
    const w = this.workspace(account);
    const raw = sent.raw as Record<string, string>;
    const blocks = JSON.parse(raw.blocks ?? "[]") as Array<{
      type: string;
      elements?: Array<Record<string, unknown>>;
    }>;
    const button = blocks.find((b) => b.type === "actions")?.elements?.[index];
    if (!button) throw new Error(`the message has no button ${index}`);
    const socket = this.#sockets.get(account);
    if (!socket || socket.readyState !== WebSocket.OPEN)
      throw new Error(`no Socket Mode connection for ${account}`);
    this.#seq += 1;
    const envelopeId = `env-${this.#seq}`;
    const messageTs = this.nextTs();
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: "interactive",
        accepts_response_payload: false,
        payload: {
          type: "block_actions",
          team: { id: w.teamId, domain: "fake" },
          user: { id: userId, username: `user${userId}`, name: `user${userId}`, team_id: w.teamId },
          api_app_id: `A${w.teamId}`,
          token: "verification",
          container: { type: "message", message_ts: messageTs, channel_id: sent.chatId, is_ephemeral: false },
          trigger_id: `trigger-${this.#seq}`,
          channel: { id: sent.chatId, name: "channel" },
          message: {
            type: "message",
            ts: messageTs,
            text: sent.text,
            user: w.botUserId,
            ...(sent.threadId ? { thread_ts: sent.threadId } : {}),
          },
          actions: [
            {
              type: "button",
              action_id: button.action_id,
              block_id: "b1",
              text: button.text,
              value: button.value,
              action_ts: `${Date.now() / 1000}`,
            },
          ],
        },
      }),
    );
    await this.waitForAck(envelopeId);
  }

  async inject(m: FakeInbound): Promise<void> {
    const account = m.account ?? "default";
    const w = this.workspace(account);
    const ts = m.messageId && /^\d+\.\d+$/.test(m.messageId) ? m.messageId : this.nextTs();
    const escaped = m.text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const text = m.mention ? `<@${w.botUserId}> ${escaped}` : escaped;
    const event: Record<string, unknown> = {
      type: "message",
      channel: m.chatId,
      channel_type: m.chatType === "dm" ? "im" : "channel",
      text,
      ts,
      ...(m.fromSelf ? { user: w.botUserId, bot_id: w.botId } : { user: m.userId }),
      ...(m.userName ? { user_profile: { display_name: m.userName, name: m.userName } } : {}),
      ...(m.chatType === "thread" && m.threadId ? { thread_ts: m.threadId } : {}),
    };
    if (m.media?.length) {
      const port = (this.#server.address() as AddressInfo).port;
      event.subtype = "file_share";
      event.files = m.media.map((file) => {
        const id = `F${String(++this.#seq).padStart(8, "0")}`;
        this.#files.set(id, { file, botToken: w.botToken });
        const url = `http://127.0.0.1:${port}/files-pri/${w.teamId}-${id}/${encodeURIComponent(file.name)}`;
        return {
          id,
          name: file.name,
          mimetype: file.mimeType,
          size: file.data.byteLength,
          ...(file.voice ? { subtype: "slack_audio" } : {}),
          url_private: url,
          url_private_download: `${url}?download=1`,
        };
      });
    }
    await this.#expectOk(account, await this.deliver(account, this.eventCallback(account, event)));
    // Slack sends a mention in a channel twice: as a `message` and as an `app_mention`.
    if (m.mention && m.chatType !== "dm") {
      const { channel_type: _drop, ...mention } = event;
      await this.#expectOk(
        account,
        await this.deliver(account, this.eventCallback(account, { ...mention, type: "app_mention" })),
      );
    }
  }

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  /** Close every socket (Slack's `disconnect` is what a client sees first when a pod recycles). */
  dropSockets(): void {
    for (const socket of this.#sockets.values()) socket.terminate();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    for (const w of this.#connectWaiters) clearTimeout(w.timer);
    this.#connectWaiters.clear();
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #expectOk(account: string, response: Response | undefined): Promise<void> {
    if (response && response.status !== 200) {
      throw new Error(
        `gateway answered ${response.status} to an event for ${account}: ${await response.text()}`,
      );
    }
  }

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    const ticket = new URL(req.url ?? "/", "http://fake").searchParams.get("ticket") ?? "";
    const w = this.workspaces.find((x) => x.account === ticket);
    if (!w) {
      ws.close(4001, "bad ticket");
      return;
    }
    this.#sockets.get(w.account)?.terminate();
    this.#sockets.set(w.account, ws);
    this.connections.set(w.account, (this.connections.get(w.account) ?? 0) + 1);
    ws.on("message", (data) => {
      let frame: { envelope_id?: unknown };
      try {
        frame = JSON.parse(String(data)) as { envelope_id?: unknown };
      } catch {
        return;
      }
      if (typeof frame.envelope_id === "string") this.#acks.push(frame.envelope_id);
    });
    ws.on("close", () => {
      if (this.#sockets.get(w.account) === ws) this.#sockets.delete(w.account);
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: 1,
        debug_info: { host: "fake-slack", approximate_connection_time: 18060 },
        connection_info: { app_id: `A${w.teamId}` },
      }),
    );
    for (const waiter of this.#connectWaiters) {
      if (waiter.match(w.account)) {
        clearTimeout(waiter.timer);
        this.#connectWaiters.delete(waiter);
        waiter.resolve(w.account);
      }
    }
  }

  /** `url_private`: the file to a request carrying its workspace's bot token, Slack's sign-in page otherwise. */
  #serveFile(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.downloads.push({ authorization: req.headers.authorization, path: url.pathname });
    const id = /^\/files-pri\/[^-]+-([^/]+)\//.exec(url.pathname)?.[1] ?? "";
    const entry = this.#files.get(id);
    if (!entry) return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${entry.botToken}`) {
      return void res.writeHead(200, { "content-type": "text/html" }).end("<html>Sign in to Slack</html>");
    }
    res
      .writeHead(200, { "content-type": entry.file.mimeType, "content-length": entry.file.data.byteLength })
      .end(entry.file.data);
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname.startsWith("/files-pri/")) return this.#serveFile(req, res, url);
    if (url.pathname.startsWith("/upload/")) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const pending = this.#pendingUploads.get(url.pathname.slice("/upload/".length));
      if (!pending) return void res.writeHead(404).end();
      const raw = Buffer.concat(chunks);
      const type = req.headers["content-type"] ?? "";
      // Slack takes the bytes raw or as a multipart form (the Web API client sends a form).
      if (type.startsWith("multipart/form-data")) {
        const form = await new Request("http://fake/", {
          method: "POST",
          headers: { "content-type": type },
          body: raw,
        }).formData();
        const part = [...form.values()].find((v): v is File => typeof v !== "string");
        pending.data = part ? new Uint8Array(await part.arrayBuffer()) : new Uint8Array(0);
      } else pending.data = new Uint8Array(raw);
      return void res.writeHead(200, { "content-type": "text/plain" }).end("OK - 1");
    }
    const method = url.pathname.replace(/^\/api\//, "");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body: Record<string, string> = (req.headers["content-type"] ?? "").includes("json")
      ? (JSON.parse(raw || "{}") as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(raw));
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? body.token;
    const call: FakeCall = { method, token, body };
    this.#calls.push(call);

    const reply = (payload: Record<string, unknown>): void => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
    };
    const bot = this.workspaces.find((w) => w.botToken === token);

    if (method === "apps.connections.open") {
      const app = this.workspaces.find((w) => w.appToken === token);
      if (!app) return reply({ ok: false, error: "invalid_auth" });
      const port = (this.#server.address() as AddressInfo).port;
      return reply({
        ok: true,
        url: `ws://127.0.0.1:${port}/link/?ticket=${app.account}&app_id=A${app.teamId}`,
      });
    }
    if (!bot) return reply({ ok: false, error: "invalid_auth" });

    switch (method) {
      case "auth.test":
        return reply({
          ok: true,
          url: "https://fake.slack.com/",
          team: bot.teamId,
          user: "switchboard",
          team_id: bot.teamId,
          user_id: bot.botUserId,
          bot_id: bot.botId,
        });
      case "chat.postMessage": {
        const failure = this.#failures.shift();
        if (failure?.error) return reply({ ok: false, error: failure.error });
        if (failure) {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (failure.retryAfter !== undefined) headers["retry-after"] = String(failure.retryAfter);
          res
            .writeHead(failure.status, headers)
            .end(
              failure.status === 429
                ? JSON.stringify({ ok: false, error: "ratelimited" })
                : "upstream connect error",
            );
          return;
        }
        if (!body.channel || body.text === undefined) return reply({ ok: false, error: "invalid_arguments" });
        const ts = this.nextTs();
        const sent: FakeSent = {
          account: bot.account,
          chatId: body.channel,
          text: body.text,
          format: body.mrkdwn === "false" ? "plain" : "mrkdwn",
          raw: body,
          ...(body.thread_ts ? { threadId: body.thread_ts } : {}),
        };
        this.#sent.push(sent);
        return reply({
          ok: true,
          channel: body.channel,
          ts,
          message: { type: "message", text: body.text, ts, user: bot.botUserId, bot_id: bot.botId },
        });
      }
      case "chat.update":
        return reply({ ok: true, channel: body.channel, ts: body.ts, text: body.text });
      case "files.getUploadURLExternal": {
        if (!body.filename || !body.length) return reply({ ok: false, error: "invalid_arguments" });
        const id = `F${String(++this.#seq).padStart(8, "0")}`;
        this.#pendingUploads.set(id, { filename: body.filename });
        const port = (this.#server.address() as AddressInfo).port;
        return reply({ ok: true, upload_url: `http://127.0.0.1:${port}/upload/${id}`, file_id: id });
      }
      case "files.completeUploadExternal": {
        const files = JSON.parse(body.files ?? "[]") as Array<{ id: string; title?: string }>;
        for (const f of files) {
          const pending = this.#pendingUploads.get(f.id);
          if (!pending?.data) return reply({ ok: false, error: "file_not_found" });
          this.#pendingUploads.delete(f.id);
          this.#uploads.push({
            account: bot.account,
            chatId: body.channel_id ?? "",
            name: pending.filename,
            data: pending.data,
            as: "files.completeUploadExternal",
            ...(body.initial_comment ? { caption: body.initial_comment } : {}),
            ...(body.thread_ts ? { threadId: body.thread_ts } : {}),
            raw: body,
          });
        }
        return reply({ ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) });
      }
      case "conversations.info":
        return reply({
          ok: true,
          channel: {
            id: body.channel,
            name: `chan-${body.channel}`,
            is_im: body.channel?.startsWith("D") ?? false,
          },
        });
      default:
        return reply({ ok: false, error: "unknown_method" });
    }
  }

  #wait<T>(
    waiters: Set<Waiter<T>>,
    existing: T[],
    match: (item: T) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const found = existing.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        match,
        resolve,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`fake slack: timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      waiters.add(waiter);
    });
  }
}
