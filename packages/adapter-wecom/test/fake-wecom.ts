import { randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeInbound,
  type FakePlatform,
  type FakeSent,
  type FakeUpload,
  SentLog,
} from "@switchboard/testing";
import { aesKeyOf, encrypt, signature } from "../src/crypto.ts";
import { defaultCallbackPath } from "../src/types.ts";
import { cdata } from "../src/xml.ts";

/** One self-built app the fake knows: its credentials and where its callbacks go. */
export interface FakeWecomApp {
  account: string;
  corpId: string;
  corpSecret: string;
  agentId: number;
  token: string;
  encodingAesKey: string;
  callbackPath: string;
}

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** Two apps by default, `default` and `second`, in two companies. */
export function defaultApps(): FakeWecomApp[] {
  return ["default", "second"].map((account, i) => ({
    account,
    corpId: `ww00000000000${i + 1}`,
    corpSecret: `secret-${account}`,
    agentId: 1000002 + i,
    token: `tok${account}`,
    encodingAesKey:
      i === 0 ? "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C" : "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    callbackPath: defaultCallbackPath(account),
  }));
}

/** The section the adapter needs for these apps (one `accounts` entry each). */
export function wecomSection(fake: FakeWecom): Record<string, unknown> {
  const accounts: Record<string, Record<string, unknown>> = {};
  for (const app of fake.apps.values()) {
    accounts[app.account] = {
      corp_id: app.corpId,
      corp_secret: app.corpSecret,
      agent_id: app.agentId,
      token: app.token,
      encoding_aes_key: app.encodingAesKey,
      api_url: fake.url,
      callback_path: app.callbackPath,
    };
  }
  return { accounts };
}

export interface SignedCallback {
  url: string;
  body: string;
}

/** Build the POST WeCom sends for `innerXml`, encrypted and signed for `app` (each part overridable to forge). */
export function signedCallback(
  gatewayUrl: string,
  app: FakeWecomApp,
  innerXml: string,
  opts: {
    timestamp?: number;
    nonce?: string;
    receiveId?: string;
    signature?: string;
    encrypted?: string;
  } = {},
): SignedCallback {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? String(randomInt(1e9));
  const encrypted =
    opts.encrypted ?? encrypt(aesKeyOf(app.encodingAesKey), innerXml, opts.receiveId ?? app.corpId);
  const sig = opts.signature ?? signature(app.token, timestamp, nonce, encrypted);
  const body =
    `<xml><ToUserName>${cdata(app.corpId)}</ToUserName><AgentID>${cdata(String(app.agentId))}</AgentID>` +
    `<Encrypt>${cdata(encrypted)}</Encrypt></xml>`;
  const query = new URLSearchParams({ msg_signature: sig, timestamp, nonce });
  return { url: `${gatewayUrl}${app.callbackPath}?${query}`, body };
}

/** The decrypted XML of a text message from `user` (in app group chat `chatId` when given). */
export function textMessageXml(
  app: FakeWecomApp,
  m: { user: string; text: string; msgId: string; chatId?: string },
): string {
  return (
    `<xml><ToUserName>${cdata(app.corpId)}</ToUserName><FromUserName>${cdata(m.user)}</FromUserName>` +
    `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType>${cdata("text")}</MsgType>` +
    `<Content>${cdata(m.text)}</Content><MsgId>${m.msgId}</MsgId><AgentID>${app.agentId}</AgentID>` +
    (m.chatId ? `<ChatId>${cdata(m.chatId)}</ChatId>` : "") +
    "</xml>"
  );
}

/**
 * A fake WeCom server API (`/cgi-bin/gettoken`, `/cgi-bin/message/send`, `/cgi-bin/appchat/send`) on
 * 127.0.0.1, that also plays WeCom's side of the callback: it encrypts, signs and POSTs messages to the
 * gateway. Records every call; can fail sends (45009 / 5xx) and expire tokens (42001 / 40014).
 */
export class FakeWecom implements FakePlatform {
  readonly apps: Map<string, FakeWecomApp>;
  readonly calls: RecordedCall[] = [];
  readonly gatewayUrl: string;
  url = "";
  readonly #server: Server;
  readonly #tokens = new Map<string, { account: string; dead?: number }>();
  readonly #sent = new SentLog();
  #failures: Array<{ status: number; retryAfterSeconds?: number }> = [];
  #rejectFormatted = 0;
  #tokenRejections = 0;
  #tokenSeq = 0;
  #msgSeq = 0;
  /** WeCom apps receive images and voice, not documents; a photo carries no caption. */
  readonly media = { in: true, out: true, inKinds: ["image" as const] };
  /** Temporary media by `media_id`: what members sent and what the app uploaded. */
  readonly #media = new Map<string, { name: string; mimeType: string; data: Uint8Array; type?: string }>();
  readonly #uploads: FakeUpload[] = [];

  private constructor(gatewayUrl: string, apps: FakeWecomApp[]) {
    this.gatewayUrl = gatewayUrl;
    this.apps = new Map(apps.map((a) => [a.account, a]));
    this.#server = createServer((req, res) => {
      void this.#serve(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  }

  static async start(opts: { gatewayUrl: string; apps?: FakeWecomApp[] }): Promise<FakeWecom> {
    const fake = new FakeWecom(opts.gatewayUrl, opts.apps ?? defaultApps());
    await new Promise<void>((r) => fake.#server.listen(0, "127.0.0.1", r));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  app(account = "default"): FakeWecomApp {
    const app = this.apps.get(account);
    if (!app) throw new Error(`the fake has no app for account ${account}`);
    return app;
  }

  /** Access tokens issued so far, with the account each belongs to. */
  tokens(): Array<{ token: string; account: string }> {
    return [...this.#tokens].map(([token, t]) => ({ token, account: t.account }));
  }

  /** Make every token issued so far to `account` fail with `errcode` (42001 expired, 40014 invalid). */
  expireTokens(account: string, errcode: 42001 | 40014 = 42001): void {
    for (const t of this.#tokens.values()) if (t.account === account) t.dead = errcode;
  }

  /** Answer the next `count` sends as if their (otherwise good) token had just expired. */
  rejectTokens(count: number): void {
    this.#tokenRejections += count;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const type = req.headers["content-type"] ?? "";
    const form = type.startsWith("multipart/form-data")
      ? await new Request("http://fake/", {
          method: "POST",
          headers: { "content-type": type },
          body: bytes,
        }).formData()
      : undefined;
    const raw = form || url.pathname === "/cgi-bin/media/get" ? "" : bytes.toString("utf8");
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    this.calls.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
    });
    const out = (o: unknown, status = 200): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(o));
    };

    if (url.pathname === "/cgi-bin/gettoken") {
      const app = [...this.apps.values()].find(
        (a) =>
          a.corpId === url.searchParams.get("corpid") && a.corpSecret === url.searchParams.get("corpsecret"),
      );
      if (!app) return out({ errcode: 40001, errmsg: "invalid credential" });
      const token = `AT_${app.account}_${++this.#tokenSeq}`;
      this.#tokens.set(token, { account: app.account });
      return out({ errcode: 0, errmsg: "ok", access_token: token, expires_in: 7200 });
    }
    if (url.pathname === "/cgi-bin/media/get" || url.pathname === "/cgi-bin/media/upload") {
      const token = this.#tokens.get(url.searchParams.get("access_token") ?? "");
      if (!token || token.dead) return out({ errcode: token?.dead ?? 40014, errmsg: "invalid access_token" });
      if (url.pathname === "/cgi-bin/media/get") {
        const file = this.#media.get(url.searchParams.get("media_id") ?? "");
        if (!file) return out({ errcode: 40007, errmsg: "invalid media_id" });
        res.writeHead(200, {
          "content-type": file.mimeType,
          "content-length": String(file.data.byteLength),
          "content-disposition": `attachment; filename="${file.name}"`,
        });
        return void res.end(file.data);
      }
      const part = form?.get("media");
      if (!(part instanceof File)) return out({ errcode: 41005, errmsg: "media data missing" });
      const id = `MEDIA_UP_${++this.#msgSeq}`;
      const kind = url.searchParams.get("type") ?? "file";
      this.#media.set(id, {
        name: part.name,
        mimeType: part.type,
        data: new Uint8Array(await part.arrayBuffer()),
        type: kind,
      });
      return out({
        errcode: 0,
        errmsg: "ok",
        type: kind,
        media_id: id,
        created_at: String(Math.floor(Date.now() / 1000)),
      });
    }
    if (url.pathname === "/cgi-bin/message/send" || url.pathname === "/cgi-bin/appchat/send") {
      const token = this.#tokens.get(url.searchParams.get("access_token") ?? "");
      if (!token) return out({ errcode: 40014, errmsg: "invalid access_token" });
      if (!token.dead && this.#tokenRejections > 0) {
        this.#tokenRejections--;
        token.dead = 42001;
      }
      if (token.dead)
        return out({
          errcode: token.dead,
          errmsg: token.dead === 42001 ? "access_token expired" : "invalid access_token",
        });
      const failure = this.#failures.shift();
      if (failure?.status === 429) return out({ errcode: 45009, errmsg: "api freq out of limit" });
      if (failure) {
        res.writeHead(failure.status, { "content-type": "text/html" }).end("<html>bad gateway</html>");
        return;
      }
      const b = body as {
        touser?: string;
        chatid?: string;
        agentid?: number;
        msgtype?: string;
        text?: { content?: string };
      };
      const app = this.app(token.account);
      if (url.pathname === "/cgi-bin/message/send" && b.agentid !== app.agentId) {
        return out({ errcode: 40056, errmsg: "invalid agentid" });
      }
      const sentMedia = b.msgtype
        ? (b as Record<string, { media_id?: string } | undefined>)[b.msgtype]?.media_id
        : undefined;
      if (sentMedia) {
        const file = this.#media.get(sentMedia);
        if (!file || file.type !== b.msgtype) return out({ errcode: 40007, errmsg: "invalid media_id" });
        this.#uploads.push({
          account: token.account,
          chatId: b.touser ?? b.chatid ?? "",
          name: file.name,
          data: file.data,
          as: b.msgtype!,
          raw: body,
        });
        return out({ errcode: 0, errmsg: "ok", invaliduser: "", msgid: `msg_${++this.#msgSeq}` });
      }
      // WeCom app messages from the adapter are plain text; a formatted (markdown) send is what could be refused.
      if (b.msgtype !== "text" && this.#rejectFormatted > 0) {
        this.#rejectFormatted--;
        return out({ errcode: 40008, errmsg: "invalid message type" });
      }
      if (b.msgtype !== "text" || typeof b.text?.content !== "string")
        return out({ errcode: 40008, errmsg: "invalid message type" });
      if (Buffer.byteLength(b.text.content) > 2048)
        return out({ errcode: 44004, errmsg: "text content exceed limit" });
      const sent: FakeSent = {
        account: token.account,
        chatId: b.touser ?? b.chatid ?? "",
        text: b.text.content,
        raw: body,
      };
      this.#sent.push(sent);
      return out({ errcode: 0, errmsg: "ok", invaliduser: "", msgid: `msg_${++this.#msgSeq}` });
    }
    out({ errcode: 404, errmsg: "not found" }, 404);
  }

  /** POST a text message to the gateway as WeCom would. WeCom never echoes an app's own messages: `fromSelf` delivers nothing. */
  async inject(message: FakeInbound): Promise<void> {
    if (message.fromSelf) return;
    const app = this.app(message.account);
    const [file] = message.media ?? [];
    if (file && message.text) await this.inject({ ...message, media: [], messageId: undefined });
    const msgId = message.messageId ?? String(7_000_000_000_000 + ++this.#msgSeq);
    let xml: string;
    if (file) {
      // A photo or voice message carries no text: the text went first, as its own message.
      const mediaId = `MEDIA_IN_${++this.#msgSeq}`;
      this.#media.set(mediaId, { name: file.name, mimeType: file.mimeType, data: file.data });
      const type = file.kind === "audio" ? "voice" : "image";
      xml =
        `<xml><ToUserName>${cdata(app.corpId)}</ToUserName><FromUserName>${cdata(message.userId)}</FromUserName>` +
        `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType>${cdata(type)}</MsgType>` +
        (type === "image"
          ? `<PicUrl>${cdata(`${this.url}/pic/${mediaId}`)}</PicUrl>`
          : `<Format>${cdata("amr")}</Format>`) +
        `<MediaId>${cdata(mediaId)}</MediaId><MsgId>${msgId}</MsgId><AgentID>${app.agentId}</AgentID>` +
        (message.chatType === "dm" ? "" : `<ChatId>${cdata(message.chatId)}</ChatId>`) +
        "</xml>";
    } else {
      xml = textMessageXml(app, {
        user: message.userId,
        text: message.text,
        msgId,
        ...(message.chatType === "dm" ? {} : { chatId: message.chatId }),
      });
    }
    const cb = signedCallback(this.gatewayUrl, app, xml);
    const res = await fetch(cb.url, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: cb.body,
    });
    const answer = await res.text();
    if (res.status !== 200)
      throw new Error(`the gateway answered the callback with ${res.status}: ${answer}`);
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++)
      this.#failures.push({ status, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
  }

  /** Refuse the next formatted (non-`text`) send. The adapter sends plain text only, so this should never fire. */
  rejectNextFormatted(): void {
    this.#rejectFormatted++;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
