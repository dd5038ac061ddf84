import { createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeInbound,
  type FakeMedia,
  type FakePlatform,
  type FakeSent,
  SentLog,
} from "@switchboard/testing";
import { type WebSocket, WebSocketServer } from "ws";
import { decode, decodeFrame, encode, encodeFrame, type Frame } from "../src/codec.ts";
import type { Head } from "../src/types.ts";

/** One bot the fake knows. */
export interface FakeBot {
  account: string;
  appId: string;
  appSecret: string;
  botId: string;
  botName: string;
}

export interface IssuedToken {
  token: string;
  account: string;
  expired: boolean;
}

export interface SignRequest {
  body: Record<string, unknown>;
  headers: Record<string, string | undefined>;
  /** What the fake answered: 0 for a token. */
  code: number;
}

const WS_PATH = "/wss/connection";
const SIGN_PATH = "/api/v5/robotLogic/sign-token";
/** The fake's refusal codes (Yuanbao publishes none). */
export const FAKE_CODES = {
  badSignature: 10001,
  badTimestamp: 10002,
  unknownApp: 10003,
  tokenRejected: 41002,
};
const MAX_SKEW_MS = 5 * 60_000;
const BEIJING = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\+08:00$/;

export function defaultBots(): FakeBot[] {
  return ["default", "second"].map((account, i) => ({
    account,
    appId: `app-${account}`,
    appSecret: `secret-${account}-${i}`,
    botId: `bot_${account}`,
    botName: `Bot ${account}`,
  }));
}

/** The `platforms.yuanbao` section for the fake's bots (short debounce so tests stay fast). */
export function yuanbaoSection(
  fake: FakeYuanbao,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const accounts: Record<string, Record<string, unknown>> = {};
  for (const bot of fake.bots.values()) {
    accounts[bot.account] = {
      app_id: bot.appId,
      app_secret: bot.appSecret,
      ws_url: fake.wsUrl,
      api_domain: fake.url,
      debounce_ms: 20,
      ...extra,
    };
  }
  return { accounts };
}

/** The Beijing wall-clock time a `+08:00` timestamp names, as epoch ms, or NaN when it is not one. */
export function parseBeijing(ts: string): number {
  const m = BEIJING.exec(ts);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) - 8 * 3600_000;
}

interface Socket {
  ws: WebSocket;
  account?: string;
}

/**
 * A fake Yuanbao bot platform on 127.0.0.1: `POST /api/v5/robotLogic/sign-token` (checks the HMAC-SHA256
 * signature, the nonce and the Beijing-time timestamp) and the WebSocket gateway speaking protobuf `ConnMsg`
 * frames (auth-bind with the signed token, ping/pong, send_c2c_message / send_group_message, reply
 * heartbeats, pushes with need_ack and their PushAck). Records everything; can fail sends, drop pongs, refuse
 * binds, expire tokens and close connections with any code.
 */
export class FakeYuanbao implements FakePlatform {
  readonly bots: Map<string, FakeBot>;
  readonly signRequests: SignRequest[] = [];
  readonly tokens: IssuedToken[] = [];
  readonly binds: Array<{ account: string; token: string; uid: string; instanceId: string; ok: boolean }> =
    [];
  readonly acks: Array<{ account: string; head: Head }> = [];
  readonly heartbeats: Array<{ account: string; cmd: string; to: string; state: number }> = [];
  readonly requests: Array<{ account: string; cmd: string; req: Record<string, unknown> }> = [];
  readonly pings: Array<{ account: string; answered: boolean }> = [];
  url = "";
  wsUrl = "";
  /** Seconds a signed token is valid. */
  tokenDuration = 3600;
  /** Answer pings without echoing their msg_id (a server may; hermes-agent accepts such pongs). */
  pongsWithoutId = false;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<Socket>();
  readonly #sent = new SentLog();
  /** Images only: the adapter downloads images and sends no files. */
  readonly media = { in: true, inKinds: ["image" as const] };
  /** Files users sent, served on `/cos/<id>/<name>` like Tencent's object storage. */
  readonly #files = new Map<string, FakeMedia>();
  readonly #waiters: Array<() => void> = [];
  #failures: Array<{ status: number }> = [];
  #busySigns = 0;
  #rejectBinds = 0;
  readonly #silent = new Set<string>();
  #seq = 0;

  private constructor(bots: FakeBot[]) {
    this.bots = new Map(bots.map((b) => [b.account, b]));
    this.#server = createServer((req, res) => {
      void this.#serve(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    this.#wss = new WebSocketServer({ server: this.#server, path: WS_PATH });
    this.#wss.on("connection", (ws) => this.#onSocket(ws));
  }

  static async start(opts: { bots?: FakeBot[] } = {}): Promise<FakeYuanbao> {
    const fake = new FakeYuanbao(opts.bots ?? defaultBots());
    await new Promise<void>((r) => fake.#server.listen(0, "127.0.0.1", r));
    const port = (fake.#server.address() as AddressInfo).port;
    fake.url = `http://127.0.0.1:${port}`;
    fake.wsUrl = `ws://127.0.0.1:${port}${WS_PATH}`;
    return fake;
  }

  bot(account = "default"): FakeBot {
    const bot = this.bots.get(account);
    if (!bot) throw new Error(`the fake has no bot for account ${account}`);
    return bot;
  }

  // ------------------------------------------------------------------------------------------ HTTP

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const out = (o: unknown, status = 200): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(o));
    };
    const cos = /^\/cos\/([^/]+)\//.exec(req.url ?? "");
    if (req.method === "GET" && cos) {
      const file = this.#files.get(cos[1]!);
      if (!file) return out({ code: 404, msg: "not found" }, 404);
      res.writeHead(200, { "content-type": file.mimeType, "content-length": String(file.data.byteLength) });
      return void res.end(file.data);
    }
    if (req.method !== "POST" || req.url !== SIGN_PATH) return out({ code: 404, msg: "not found" }, 404);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    const headers = {
      instanceId: header(req, "x-instance-id"),
      appVersion: header(req, "x-appversion"),
      os: header(req, "x-operationsystem"),
      botVersion: header(req, "x-bot-version"),
    };
    const answer = (code: number, msg: string, data?: unknown) => {
      this.signRequests.push({ body, headers, code });
      out({ code, msg, ...(data ? { data } : {}) });
    };
    const bot = [...this.bots.values()].find((b) => b.appId === body.app_key);
    if (!bot) return answer(FAKE_CODES.unknownApp, "app not found");
    const { nonce, timestamp, signature } = body as Record<string, string>;
    if (typeof nonce !== "string" || !/^[0-9a-f]{32}$/.test(nonce))
      return answer(FAKE_CODES.badSignature, "nonce must be 32 hex characters");
    const at = parseBeijing(String(timestamp));
    if (!Number.isFinite(at) || Math.abs(at - Date.now()) > MAX_SKEW_MS)
      return answer(FAKE_CODES.badTimestamp, "timestamp must be Beijing time (+08:00) within 5 minutes");
    const expected = createHmac("sha256", bot.appSecret)
      .update(nonce + timestamp + bot.appId + bot.appSecret)
      .digest("hex");
    if (signature !== expected) return answer(FAKE_CODES.badSignature, "signature mismatch");
    if (headers.instanceId !== "17") return answer(FAKE_CODES.badSignature, "X-Instance-Id must be 17");
    if (this.#busySigns > 0) {
      this.#busySigns--;
      return answer(10099, "system busy");
    }
    const token = `tok-${bot.account}-${++this.#seq}`;
    this.tokens.push({ token, account: bot.account, expired: false });
    return answer(0, "ok", {
      token,
      bot_id: bot.botId,
      duration: this.tokenDuration,
      product: "yuanbao",
      source: "bot",
    });
  }

  // ------------------------------------------------------------------------------------------ WebSocket

  #onSocket(ws: WebSocket): void {
    const socket: Socket = { ws };
    this.#sockets.add(socket);
    ws.on("message", (raw: Buffer) => this.#onFrame(socket, decodeFrame(raw)));
    ws.on("close", () => {
      this.#sockets.delete(socket);
      this.#notify();
    });
  }

  #reply(socket: Socket, req: Head, name: string, value: Record<string, unknown>, status = 0): void {
    const head: Partial<Head> = {
      cmd_type: 1,
      cmd: req.cmd,
      seq_no: req.seq_no,
      msg_id: req.msg_id,
      module: req.module,
      ...(status ? { status } : {}),
    };
    socket.ws.send(encodeFrame(head, encode(name, value)));
  }

  #onFrame(socket: Socket, frame: Frame): void {
    const { head } = frame;
    if (head.cmd_type === 3) {
      if (socket.account) this.acks.push({ account: socket.account, head });
      this.#notify();
      return;
    }
    if (head.cmd_type !== 0) return;
    if (head.cmd === "auth-bind" && head.module === "conn_access") {
      const req = decode<{
        biz_id: string;
        auth_info: { uid: string; source: string; token: string };
        device_info: { instance_id: string };
      }>("AuthBindReq", frame.data);
      const issued = this.tokens.find((t) => t.token === req.auth_info.token);
      const bot = issued ? this.bot(issued.account) : undefined;
      let ok = Boolean(
        issued && !issued.expired && bot && req.auth_info.uid === bot.botId && req.biz_id === "ybBot",
      );
      if (ok && this.#rejectBinds > 0) {
        this.#rejectBinds--;
        ok = false;
      }
      this.binds.push({
        account: issued?.account ?? "?",
        token: req.auth_info.token,
        uid: req.auth_info.uid,
        instanceId: req.device_info.instance_id,
        ok,
      });
      if (!ok) {
        this.#reply(socket, head, "AuthBindRsp", {
          code: FAKE_CODES.tokenRejected,
          message: "token invalid or expired",
        });
      } else {
        socket.account = issued!.account;
        this.#reply(socket, head, "AuthBindRsp", {
          code: 0,
          message: "ok",
          connect_id: `conn-${++this.#seq}`,
        });
      }
      this.#notify();
      return;
    }
    const account = socket.account;
    if (!account) {
      socket.ws.close(4001, "not bound");
      return;
    }
    if (head.cmd === "ping") {
      const answered = !this.#silent.has(account);
      this.pings.push({ account, answered });
      if (answered)
        socket.ws.send(encodeFrame({ cmd_type: 1, cmd: "ping", msg_id: head.msg_id, module: head.module }));
      this.#notify();
      return;
    }
    if (head.module !== "yuanbao_openclaw_proxy") return;
    if (head.cmd === "send_private_heartbeat" || head.cmd === "send_group_heartbeat") {
      const group = head.cmd === "send_group_heartbeat";
      const req = decode<{ to_account: string; group_code: string; heartbeat: number }>(
        group ? "SendGroupHeartbeatReq" : "SendPrivateHeartbeatReq",
        frame.data,
      );
      this.heartbeats.push({
        account,
        cmd: head.cmd,
        to: group ? req.group_code : req.to_account,
        state: req.heartbeat,
      });
      this.#reply(socket, head, "SendMessageRsp", { code: 0, message: "ok" });
      this.#notify();
      return;
    }
    if (head.cmd === "send_c2c_message" || head.cmd === "send_group_message") {
      const group = head.cmd === "send_group_message";
      const req = decode<
        Record<string, unknown> & { msg_body: Array<{ msg_type: string; msg_content: { text: string } }> }
      >(group ? "SendGroupMessageReq" : "SendC2CMessageReq", frame.data);
      this.requests.push({ account, cmd: head.cmd, req });
      const failure = this.#failures.shift();
      if (failure) {
        this.#reply(
          socket,
          head,
          "SendMessageRsp",
          { code: failure.status, message: "try later" },
          failure.status,
        );
        return;
      }
      const sent: FakeSent = {
        account,
        chatId: String(group ? req.group_code : req.to_account),
        text: req.msg_body.map((e) => (e.msg_type === "TIMTextElem" ? e.msg_content.text : "")).join(""),
        raw: { cmd: head.cmd, ...req },
      };
      this.#sent.push(sent);
      this.#reply(socket, head, "SendMessageRsp", { code: 0, message: "ok" });
    }
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolve once `condition()` holds (re-checked on every frame and close), reject after `timeoutMs`. */
  async until(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the fake waited ${timeoutMs} ms for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #bound(account: string): Socket | undefined {
    return [...this.#sockets].find((s) => s.account === account && s.ws.readyState === 1);
  }

  /** Whether `account`'s bot holds a bound connection. */
  connected(account = "default"): boolean {
    return this.#bound(account) !== undefined;
  }

  // ------------------------------------------------------------------------------------------ control

  /** Send a raw Push frame over `account`'s connection. */
  async push(
    account: string,
    data: Uint8Array,
    opts: { needAck?: boolean; cmd?: string; msgId?: string } = {},
  ): Promise<string> {
    await this.until(() => this.connected(account), 5000, `a bound connection of ${account}`);
    const msgId = opts.msgId ?? randomUUID();
    const head: Partial<Head> = {
      cmd_type: 2,
      cmd: opts.cmd ?? "inbound_message",
      seq_no: ++this.#seq,
      msg_id: msgId,
      module: "yuanbao_openclaw_proxy",
      need_ack: opts.needAck ?? true,
    };
    await new Promise<void>((resolve, reject) =>
      this.#bound(account)!.ws.send(encodeFrame(head, data), (err) => (err ? reject(err) : resolve())),
    );
    return msgId;
  }

  /** The `InboundMessagePush` Yuanbao would send for `m`, as a plain object. */
  pushOf(m: FakeInbound): Record<string, unknown> {
    const bot = this.bot(m.account);
    const body: Array<Record<string, unknown>> = [];
    if (m.mention)
      body.push({
        msg_type: "TIMCustomElem",
        msg_content: {
          data: JSON.stringify({ elem_type: 1002, text: `@${bot.botName}`, user_id: bot.botId }),
        },
      });
    body.push({ msg_type: "TIMTextElem", msg_content: { text: m.mention ? ` ${m.text}` : m.text } });
    for (const file of m.media ?? []) {
      // Tencent IM images list original, large and thumbnail URLs on object storage (here: this fake).
      const id = `f${++this.#seq}`;
      this.#files.set(id, file);
      const url = `${this.url}/cos/${id}/${encodeURIComponent(file.name)}`;
      body.push(
        file.kind === "image"
          ? {
              msg_type: "TIMImageElem",
              msg_content: { uuid: id, image_info_array: [{ url }, { url }, { url }] },
            }
          : {
              msg_type: "TIMFileElem",
              msg_content: { url, file_name: file.name, file_size: file.data.byteLength },
            },
      );
    }
    const group = m.chatType !== "dm";
    return {
      callback_command: group ? "Group.CallbackAfterSendMsg" : "C2C.CallbackAfterSendMsg",
      from_account: m.fromSelf ? bot.botId : m.userId,
      to_account: group ? "" : bot.botId,
      sender_nickname: m.fromSelf ? bot.botName : (m.userName ?? `user ${m.userId}`),
      ...(group ? { group_code: m.chatId, group_name: `group ${m.chatId}` } : {}),
      msg_seq: ++this.#seq,
      msg_random: 1000 + this.#seq,
      msg_time: Math.floor(Date.now() / 1000),
      msg_id: m.messageId ?? `msg-${this.#seq}-${randomUUID().slice(0, 8)}`,
      msg_body: body,
    };
  }

  /** Deliver `m` as a protobuf push (or JSON, as Yuanbao also sends). */
  async inject(m: FakeInbound, opts: { json?: boolean; needAck?: boolean } = {}): Promise<void> {
    const push = this.pushOf(m);
    const data = opts.json ? Buffer.from(JSON.stringify(push)) : encode("InboundMessagePush", push);
    await this.push(m.account ?? "default", data, { needAck: opts.needAck ?? true });
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status });
  }

  /** Answer the next `count` sign-token calls with 10099 (busy). */
  busyNextSigns(count: number): void {
    this.#busySigns += count;
  }

  /** Refuse the next `count` auth-binds as if their token had expired. */
  rejectNextBinds(count: number): void {
    this.#rejectBinds += count;
  }

  /** Every token issued to `account` so far is refused from now on. */
  expireTokens(account = "default"): void {
    for (const t of this.tokens) if (t.account === account) t.expired = true;
  }

  /** Stop (or resume) answering `account`'s pings. */
  silencePongs(account = "default", silent = true): void {
    if (silent) this.#silent.add(account);
    else this.#silent.delete(account);
  }

  /** Close `account`'s connection from the server side with `code`. */
  closeConnection(account = "default", code = 4000, reason = "server closed"): void {
    const s = this.#bound(account);
    if (!s) throw new Error(`${account} has no bound connection`);
    s.ws.close(code, reason);
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((r) => this.#wss.close(() => r()));
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
}
