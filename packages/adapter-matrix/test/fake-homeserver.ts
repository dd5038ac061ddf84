import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeInbound,
  type FakePlatform,
  type FakeSent,
  type FakeUpload,
  SentLog,
} from "@switchboard/testing";
import { FakeRooms, type MatrixEventJson, SERVER_NAME } from "./fake-rooms.ts";

export { type MatrixEventJson, SERVER_NAME } from "./fake-rooms.ts";

/** A bot account the fake homeserver knows: its access token (or password) identifies it. */
export interface FakeBot {
  /** The Switchboard account name (`default`, `second`, …). */
  account: string;
  userId: string;
  accessToken: string;
  password?: string;
  displayName?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The bot whose token authorized the request. */
  account?: string;
  body: unknown;
}

interface Failure {
  status: number;
  retryAfterMs?: number;
}

const PREFIX = "/_matrix/client/v3";
const DEFAULT_WAIT_MS = 5_000;

export function defaultBots(): FakeBot[] {
  return [
    {
      account: "default",
      userId: `@switchbot:${SERVER_NAME}`,
      accessToken: "tok-default",
      password: "pw-default",
      displayName: "Switchbot",
    },
    {
      account: "second",
      userId: `@helper:${SERVER_NAME}`,
      accessToken: "tok-second",
      password: "pw-second",
      displayName: "Helper",
    },
  ];
}

/**
 * A fake Matrix homeserver on 127.0.0.1 for matrix-js-sdk: `/versions`, login, whoami, push rules,
 * filters, `/sync` long polls with `next_batch` tokens, sends, typing, joins and room state, for
 * several bots at once. Records every request; can fail sends (429 `M_LIMIT_EXCEEDED`, 5xx).
 */
export class FakeHomeserver implements FakePlatform {
  readonly url: string;
  readonly bots: FakeBot[];
  readonly rooms: FakeRooms;
  readonly requests: RecordedRequest[] = [];
  /** Endpoints answered 404, to spot what the SDK needs that the fake lacks. */
  readonly unknown: string[] = [];
  readonly #server: ReturnType<typeof createServer>;
  readonly #sent = new SentLog();
  readonly #failures: Failure[] = [];
  readonly #txns = new Map<string, string>();
  #rejectFormatted = false;
  #eventSeq = 0;
  readonly media = { in: true, out: true };
  /** The media repository: files by media id (users' and uploaded ones). */
  readonly #mediaRepo = new Map<string, { data: Uint8Array; mimeType: string; name: string }>();
  readonly #uploads: FakeUpload[] = [];

  private constructor(server: ReturnType<typeof createServer>, url: string, bots: FakeBot[]) {
    this.#server = server;
    this.url = url;
    this.bots = bots;
    this.rooms = new FakeRooms(bots.map((b) => b.userId));
  }

  static async start(bots: FakeBot[] = defaultBots()): Promise<FakeHomeserver> {
    let fake: FakeHomeserver | undefined;
    const server = createServer((req, res) => {
      fake!
        .#handle(req, res)
        .catch((err: unknown) => json(res, 500, { errcode: "M_UNKNOWN", error: String(err) }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeHomeserver(server, `http://127.0.0.1:${port}`, bots);
    return fake;
  }

  bot(account = "default"): FakeBot {
    const bot = this.bots.find((b) => b.account === account);
    if (!bot) throw new Error(`fake homeserver has no bot for account ${account}`);
    return bot;
  }

  nextEventId(): string {
    return `$ev${++this.#eventSeq}`;
  }

  // ---- FakePlatform ----

  async inject(m: FakeInbound): Promise<void> {
    const bot = this.bot(m.account ?? "default");
    const roomId = m.chatId;
    const group = m.chatType !== "dm";
    if (!this.rooms.has(roomId))
      this.rooms.create({ id: roomId, creator: m.userId, name: group ? `Room ${roomId}` : undefined });
    this.rooms.join(roomId, bot.userId, bot.displayName);
    if (!m.fromSelf) this.rooms.join(roomId, m.userId, m.userName);
    // A group needs a third member, or it would look like a DM (two joined members).
    if (group) this.rooms.join(roomId, `@observer:${SERVER_NAME}`, "Observer");
    const content: Record<string, unknown> = { msgtype: "m.text", body: m.text, "m.mentions": {} };
    if (m.mention) {
      content.body = `${bot.displayName ?? bot.userId}: ${m.text}`;
      content.format = "org.matrix.custom.html";
      content.formatted_body = `<a href="https://matrix.to/#/${bot.userId}">${bot.displayName ?? bot.userId}</a>: ${escapeText(m.text)}`;
      content["m.mentions"] = { user_ids: [bot.userId] };
    }
    const file = m.media?.[0];
    if (file) {
      // One file per event, as Matrix has it: the caption is the body, the name in `filename`.
      const id = `media${++this.#eventSeq}`;
      this.#mediaRepo.set(id, { data: file.data, mimeType: file.mimeType, name: file.name });
      content.msgtype = file.kind === "image" ? "m.image" : file.kind === "audio" ? "m.audio" : "m.file";
      if (!m.text && !m.mention) content.body = file.name;
      content.filename = file.name;
      content.url = `mxc://${SERVER_NAME}/${id}`;
      content.info = { mimetype: file.mimeType, size: file.data.byteLength };
      if (file.voice) content["org.matrix.msc3245.voice"] = {};
      delete content.format;
      delete content.formatted_body;
    }
    if (m.threadId) {
      content["m.relates_to"] = {
        rel_type: "m.thread",
        event_id: m.threadId,
        is_falling_back: true,
        "m.in_reply_to": { event_id: m.threadId },
      };
    }
    const event: MatrixEventJson = {
      type: "m.room.message",
      event_id: m.messageId ?? this.nextEventId(),
      sender: m.fromSelf ? bot.userId : m.userId,
      origin_server_ts: Date.now(),
      content,
    };
    this.rooms.deliver(roomId, event, [bot.userId]);
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  uploads(): FakeUpload[] {
    return [...this.#uploads];
  }

  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<FakeSent> {
    return this.#sent.waitFor(predicate, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++) {
      this.#failures.push(
        status === 429
          ? { status, retryAfterMs: Math.round((retryAfterSeconds ?? 0.05) * 1000) }
          : { status },
      );
    }
  }

  rejectNextFormatted(): void {
    this.#rejectFormatted = true;
  }

  async close(): Promise<void> {
    this.rooms.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- helpers for the adapter's own tests ----

  /** Deliver a raw timeline event (any type, any timestamp) to one bot; returns its event id. */
  deliverRaw(
    account: string,
    roomId: string,
    event: Pick<MatrixEventJson, "type" | "sender" | "content"> & Partial<MatrixEventJson>,
  ): string {
    const full: MatrixEventJson = { event_id: this.nextEventId(), origin_server_ts: Date.now(), ...event };
    this.rooms.deliver(roomId, full, [this.bot(account).userId]);
    return full.event_id;
  }

  /** Resolve once `account` has fetched everything queued for it and come back for more. */
  delivered(account = "default", timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.rooms.delivered(this.bot(account).userId, timeoutMs);
  }

  /** Resolve with the first recorded request (past or future) matching `predicate`. */
  async waitForRequest(
    predicate: (r: RecordedRequest) => boolean,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching request within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- HTTP ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const bytes = await readBody(req);
    const isJson = bytes.length > 0 && !path.startsWith("/_matrix/media/");
    const body: unknown = isJson ? JSON.parse(bytes.toString("utf8")) : undefined;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const bot = token ? this.bots.find((b) => b.accessToken === token) : undefined;
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({
      method: req.method ?? "GET",
      path,
      query,
      body,
      ...(bot ? { account: bot.account } : {}),
    });

    if (path === "/_matrix/client/versions") {
      return json(res, 200, { versions: ["v1.1", "v1.5", "v1.11", "v1.12"], unstable_features: {} });
    }
    if (path === `${PREFIX}/login`) return this.#login(req.method, body, res);
    if (!bot) return json(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown access token" });

    const download = /^\/_matrix\/client\/v1\/media\/download\/([^/]+)\/([^/]+)$/.exec(path);
    if (download && req.method === "GET") {
      const file =
        decodeURIComponent(download[1]!) === SERVER_NAME
          ? this.#mediaRepo.get(decodeURIComponent(download[2]!))
          : undefined;
      if (!file) return json(res, 404, { errcode: "M_NOT_FOUND", error: "Not found" });
      res
        .writeHead(200, { "content-type": file.mimeType, "content-length": file.data.byteLength })
        .end(file.data);
      return;
    }
    if (path === "/_matrix/media/v3/upload" && req.method === "POST") {
      const id = `up${++this.#eventSeq}`;
      this.#mediaRepo.set(id, {
        data: new Uint8Array(bytes),
        mimeType: String(req.headers["content-type"] ?? "application/octet-stream"),
        name: query.filename ?? id,
      });
      return json(res, 200, { content_uri: `mxc://${SERVER_NAME}/${id}` });
    }
    const route = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : path;
    const seg = route.split("/").map((s) => decodeURIComponent(s));
    const method = req.method ?? "GET";
    if (route === "/account/whoami")
      return json(res, 200, { user_id: bot.userId, device_id: `DEV-${bot.account}` });
    if (route === "/pushrules/")
      return json(res, 200, { global: { override: [], content: [], room: [], sender: [], underride: [] } });
    if (route === "/capabilities") return json(res, 200, { capabilities: {} });
    if (route === "/sync") return this.rooms.sync(bot.userId, query, res);
    if (seg[1] === "user" && seg[3] === "filter") {
      if (method === "POST") return json(res, 200, { filter_id: this.rooms.storeFilter(body) });
      return json(res, 200, this.rooms.filter(seg[4] ?? "") ?? {});
    }
    if (seg[1] === "user" && seg[3] === "account_data" && seg[4]) {
      if (method === "PUT") return json(res, 200, {});
      return json(res, 404, { errcode: "M_NOT_FOUND", error: "Account data not found" });
    }
    if (seg[1] === "profile" && seg[2]) {
      const known = this.bots.find((b) => b.userId === seg[2]);
      return json(res, 200, { displayname: known?.displayName ?? seg[2] });
    }
    if (seg[1] === "join" && seg[2] && method === "POST") return this.#join(bot, seg[2], res);
    if (seg[1] === "rooms" && seg[2]) return this.#room(bot, method, seg[2], seg.slice(3), body, res);
    this.unknown.push(`${method} ${path}`);
    return json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  }

  #login(method: string | undefined, body: unknown, res: ServerResponse): undefined {
    if (method === "GET") return json(res, 200, { flows: [{ type: "m.login.password" }] });
    const b = (body ?? {}) as {
      type?: string;
      password?: string;
      identifier?: { user?: string };
      device_id?: string;
    };
    const user = b.identifier?.user ?? "";
    const bot = this.bots.find((x) => x.userId === user || x.userId.slice(1).split(":")[0] === user);
    if (b.type !== "m.login.password" || !bot || !bot.password || bot.password !== b.password) {
      return json(res, 403, { errcode: "M_FORBIDDEN", error: "Invalid username or password" });
    }
    json(res, 200, {
      user_id: bot.userId,
      access_token: bot.accessToken,
      device_id: b.device_id ?? `DEV-${bot.account}`,
      home_server: SERVER_NAME,
    });
  }

  #join(bot: FakeBot, roomId: string, res: ServerResponse): undefined {
    if (!this.rooms.has(roomId)) return json(res, 404, { errcode: "M_NOT_FOUND", error: "No such room" });
    const membership = this.rooms.membership(roomId, bot.userId);
    if (membership !== "invite" && membership !== "join") {
      return json(res, 403, { errcode: "M_FORBIDDEN", error: "You are not invited to this room." });
    }
    this.rooms.join(roomId, bot.userId, bot.displayName);
    json(res, 200, { room_id: roomId });
  }

  #room(
    bot: FakeBot,
    method: string,
    roomId: string,
    rest: string[],
    body: unknown,
    res: ServerResponse,
  ): undefined {
    const [action, a, b] = rest;
    if (action === "join" && method === "POST") return this.#join(bot, roomId, res);
    if (!this.rooms.has(roomId)) return json(res, 404, { errcode: "M_NOT_FOUND", error: "No such room" });
    if (action === "send" && method === "PUT" && a && b) return this.#send(bot, roomId, a, b, body, res);
    if (action === "typing" && method === "PUT") return json(res, 200, {});
    if (action === "receipt" || action === "read_markers") return json(res, 200, {});
    if (action === "leave" && method === "POST") {
      this.rooms.setMembership(roomId, bot.userId, "leave", bot.userId);
      return json(res, 200, {});
    }
    if (action === "joined_members") return json(res, 200, { joined: this.rooms.joinedMembers(roomId) });
    if (action === "members")
      return json(res, 200, {
        chunk: this.rooms.stateEvents(roomId).filter((e) => e.type === "m.room.member"),
      });
    if (action === "state" && !a) return json(res, 200, this.rooms.stateEvents(roomId));
    if (action === "state" && a) {
      const ev = this.rooms.stateEvents(roomId).find((e) => e.type === a && e.state_key === (b ?? ""));
      return ev
        ? json(res, 200, ev.content)
        : json(res, 404, { errcode: "M_NOT_FOUND", error: "Event not found" });
    }
    this.unknown.push(`${method} /rooms/${roomId}/${rest.join("/")}`);
    json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  }

  #send(
    bot: FakeBot,
    roomId: string,
    type: string,
    txnId: string,
    body: unknown,
    res: ServerResponse,
  ): undefined {
    const txnKey = `${bot.accessToken}\u0000${roomId}\u0000${txnId}`;
    const seen = this.#txns.get(txnKey);
    if (seen) return json(res, 200, { event_id: seen });
    if (this.rooms.membership(roomId, bot.userId) !== "join") {
      return json(res, 403, { errcode: "M_FORBIDDEN", error: `User ${bot.userId} not in room ${roomId}` });
    }
    const failure = this.#failures.shift();
    if (failure?.status === 429) {
      res.setHeader("retry-after", String(Math.ceil((failure.retryAfterMs ?? 0) / 1000)));
      return json(res, 429, {
        errcode: "M_LIMIT_EXCEEDED",
        error: "Too Many Requests",
        retry_after_ms: failure.retryAfterMs,
      });
    }
    if (failure) return json(res, failure.status, { errcode: "M_UNKNOWN", error: "Internal server error" });
    const content = (body ?? {}) as Record<string, unknown>;
    if (this.#rejectFormatted && typeof content.format === "string") {
      this.#rejectFormatted = false;
      return json(res, 400, { errcode: "M_BAD_JSON", error: "formatted_body is not valid HTML" });
    }
    const eventId = this.nextEventId();
    this.#txns.set(txnKey, eventId);
    // The sender sees its own event come back through /sync, as on a real homeserver.
    const event: MatrixEventJson = {
      type,
      event_id: eventId,
      sender: bot.userId,
      origin_server_ts: Date.now(),
      content,
      unsigned: { transaction_id: txnId },
    };
    this.rooms.deliver(roomId, event, [bot.userId]);
    json(res, 200, { event_id: eventId });
    if (type !== "m.room.message") return;
    const rel = content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined;
    const mxc = typeof content.url === "string" ? /^mxc:\/\/[^/]+\/(.+)$/.exec(content.url)?.[1] : undefined;
    const stored = mxc ? this.#mediaRepo.get(mxc) : undefined;
    if (stored) {
      const name = typeof content.filename === "string" ? content.filename : stored.name;
      const body = typeof content.body === "string" ? content.body : "";
      this.#uploads.push({
        account: bot.account,
        chatId: roomId,
        name,
        data: stored.data,
        as: String(content.msgtype),
        ...(body && body !== name ? { caption: body } : {}),
        ...(rel?.rel_type === "m.thread" && rel.event_id ? { threadId: rel.event_id } : {}),
        raw: content,
      });
      return;
    }
    const sent: FakeSent = {
      account: bot.account,
      chatId: roomId,
      text: typeof content.body === "string" ? content.body : "",
      raw: content,
    };
    if (rel?.rel_type === "m.thread" && rel.event_id) sent.threadId = rel.event_id;
    if (typeof content.format === "string") sent.format = content.format;
    this.#sent.push(sent);
  }
}

/** Answer with JSON; returns `undefined` so route handlers can `return json(…)`. */
function json(res: ServerResponse, status: number, body: unknown): undefined {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
