import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeEdit,
  type FakeInbound,
  type FakeMedia,
  type FakePlatform,
  type FakeSent,
  type FakeUpload,
  SentLog,
} from "@switchboard/testing";
import { type WebSocket, WebSocketServer } from "ws";
import {
  botUser,
  channelObject,
  DEFAULT_BOTS,
  DEFAULT_CHANNEL_ID,
  DEFAULT_GUILD_ID,
  type FakeBot,
  type FakeChannel,
  guildCreatePayload,
  memberObject,
  messageObject,
  snowflake,
  userObject,
} from "./fake-discord-wire.ts";

export { DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, type FakeBot, snowflake } from "./fake-discord-wire.ts";

/**
 * A fake Discord on 127.0.0.1: the REST routes the adapter uses under `/api/v10` and a gateway WebSocket
 * (HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME) on the same port. Several bots, each known
 * by its token; every bot is a member of every guild. Real discord.js runs against it unmodified.
 */

export interface RecordedCall {
  method: string;
  /** Path without the `/api/v10` prefix, e.g. `/channels/4000/messages`. */
  path: string;
  body: unknown;
  /** The bot account the Authorization header belongs to. */
  account: string | undefined;
}

interface Session {
  id: string;
  bot: FakeBot;
  seq: number;
  /** Dispatches kept for RESUME replay. */
  log: Array<{ s: number; frame: string }>;
  ws: WebSocket | undefined;
}

/** Discord-only knobs for `inject`. */
export interface InjectExtras {
  /** The author is some other bot (not this one). */
  authorBot?: boolean;
  /** Fields merged into the MESSAGE_CREATE payload last (e.g. `referenced_message`). */
  data?: Record<string, unknown>;
  /**
   * Send it now even when no client of the bot is connected (default: wait for one). Like Discord, a dispatch
   * reaches only a connected session: one sent while nobody is connected is kept for a RESUME of its session
   * only, never given to a new one (see `missed`).
   */
  now?: boolean;
}

export interface FakeDiscord extends FakePlatform {
  inject(message: FakeInbound, extras?: InjectExtras): Promise<void>;
  /** `http://127.0.0.1:PORT/api`: the adapter's `api_url`. */
  readonly apiUrl: string;
  readonly bots: FakeBot[];
  bot(account?: string): FakeBot;
  readonly calls: RecordedCall[];
  /** Resolves when `account` has a gateway session that finished IDENTIFY (or RESUME). */
  waitForSession(account?: string, timeoutMs?: number): Promise<void>;
  /** Close the bot's gateway socket with `code` (4000 = resumable) to exercise reconnects. */
  dropConnection(account?: string, code?: number): void;
  /** Answer the next IDENTIFY by closing the socket with `code` (4004 bad token, 4014 disallowed intents). */
  closeNextIdentify(code: number): void;
  /** Whether the bot has a gateway session with an open socket now. */
  connected(account?: string): boolean;
  /** The texts of injected messages no connected client received (sent with `now` while nobody was connected). */
  missed(account?: string): string[];
  /** How many IDENTIFY / RESUME frames each account sent. */
  readonly gatewayStats: Map<string, { identify: number; resume: number }>;
  /**
   * A user pressing button `index` under a message the bot sent (`sent` as `sent()` returned it): an
   * INTERACTION_CREATE (message component) on the bot's gateway session.
   */
  pressButton(sent: FakeSent, userId: string, index?: number): Promise<void>;
  /** A user running slash command `name` (with the free-text `args` option) in a DM: an INTERACTION_CREATE. */
  runCommand(options: {
    account?: string;
    chatId: string;
    userId: string;
    name: string;
    args?: string;
  }): Promise<void>;
  /** The application commands each account registered last (`PUT /applications/:id/commands`). */
  readonly commands: Map<string, unknown[]>;
  uploads(): FakeUpload[];
}

const API_PREFIX = "/api/v10";
const MAX_LENGTH = 2000;
const REPLAY_LOG_SIZE = 200;

export async function createFakeDiscord(options: { bots?: FakeBot[] } = {}): Promise<FakeDiscord> {
  const bots = options.bots ?? DEFAULT_BOTS;
  const byToken = new Map(bots.map((b) => [b.token, b]));
  const guilds = new Map<string, { id: string; name: string }>();
  const channels = new Map<string, FakeChannel>();
  const sessions = new Map<string, Session>();
  const current = new Map<string, Session>();
  const calls: RecordedCall[] = [];
  const sentLog = new SentLog();
  const edits: FakeEdit[] = [];
  let editFailures: number[] = [];
  const messages = new Map<string, { channelId: string; content: string }>();
  const sessionWaiters = new Set<{ account: string; resolve: () => void }>();
  const gatewayStats = new Map(bots.map((b) => [b.account, { identify: 0, resume: 0 }]));
  let failures: Array<{ status: number; retryAfterSeconds: number }> = [];
  let identifyCloseCode: number | undefined;
  /** Attachments users sent, served without auth like Discord's CDN. */
  const attachments = new Map<string, FakeMedia>();
  const uploads: FakeUpload[] = [];
  const commands = new Map<string, unknown[]>();

  const botFor = (account = "default"): FakeBot => {
    const bot = bots.find((b) => b.account === account);
    if (!bot) throw new Error(`fake discord has no bot for account ${account}`);
    return bot;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void handleRest(req, res, Buffer.concat(chunks)));
  });
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const gatewayUrl = `ws://127.0.0.1:${port}`;

  // ---- gateway -------------------------------------------------------------------------------------------

  const send = (ws: WebSocket, payload: object): Promise<void> =>
    new Promise((resolve) => ws.send(JSON.stringify(payload), () => resolve()));

  /** Send a dispatch on the session's socket; false when it has none open (kept for a RESUME only). */
  const dispatch = (session: Session, t: string, d: unknown): Promise<boolean> => {
    const s = ++session.seq;
    const frame = JSON.stringify({ op: 0, t, s, d });
    session.log.push({ s, frame });
    if (session.log.length > REPLAY_LOG_SIZE) session.log.shift();
    const ws = session.ws;
    if (!ws || ws.readyState !== ws.OPEN) return Promise.resolve(false);
    return new Promise((resolve) => ws.send(frame, (err) => resolve(!err)));
  };
  const missed = new Map<string, string[]>();

  const guildCreate = (guildId: string) =>
    guildCreatePayload(guildId, guilds.get(guildId)?.name ?? "Guild", [...channels.values()]);

  const live = () => [...current.values()].filter((s) => s.ws?.readyState === 1);

  const ensureGuild = async (guildId: string) => {
    if (guilds.has(guildId)) return;
    guilds.set(guildId, { id: guildId, name: `Guild ${guildId}` });
    await Promise.all(live().map((s) => dispatch(s, "GUILD_CREATE", guildCreate(guildId))));
  };

  const ensureChannel = async (channel: FakeChannel) => {
    if (channels.has(channel.id)) return;
    channels.set(channel.id, channel);
    if (channel.type === 1) return;
    const event = channel.type === 11 ? "THREAD_CREATE" : "CHANNEL_CREATE";
    const data = { ...channelObject(channel), ...(channel.type === 11 ? { newly_created: true } : {}) };
    await Promise.all(live().map((s) => dispatch(s, event, data)));
  };

  const markReady = (session: Session) => {
    current.set(session.bot.account, session);
    for (const w of sessionWaiters) {
      if (w.account === session.bot.account) {
        sessionWaiters.delete(w);
        w.resolve();
      }
    }
  };

  wss.on("connection", (ws) => {
    void send(ws, { op: 10, d: { heartbeat_interval: 45_000 } });
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { op: number; d: any };
      if (frame.op === 1) void send(ws, { op: 11 });
      else if (frame.op === 2) {
        const bot = byToken.get(String(frame.d?.token).replace(/^Bot\s+/i, ""));
        if (!bot) return ws.close(4004, "Authentication failed.");
        if (identifyCloseCode !== undefined) {
          const code = identifyCloseCode;
          identifyCloseCode = undefined;
          return ws.close(code, "Rejected by the fake.");
        }
        gatewayStats.get(bot.account)!.identify++;
        const session: Session = { id: snowflake(), bot, seq: 0, log: [], ws };
        sessions.set(session.id, session);
        void dispatch(session, "READY", {
          v: 10,
          user: botUser(bot),
          guilds: [...guilds.keys()].map((id) => ({ id, unavailable: true })),
          session_id: session.id,
          resume_gateway_url: gatewayUrl,
          shard: [0, 1],
          application: { id: bot.id, flags: 0 },
        });
        for (const id of guilds.keys()) void dispatch(session, "GUILD_CREATE", guildCreate(id));
        markReady(session);
      } else if (frame.op === 6) {
        const session = sessions.get(String(frame.d?.session_id));
        if (!session || session.bot.token !== String(frame.d?.token).replace(/^Bot\s+/i, "")) {
          return void send(ws, { op: 9, d: false });
        }
        gatewayStats.get(session.bot.account)!.resume++;
        session.ws = ws;
        const after = Number(frame.d?.seq ?? 0);
        for (const entry of session.log) if (entry.s > after) ws.send(entry.frame);
        void dispatch(session, "RESUMED", null);
        markReady(session);
      }
    });
  });

  // ---- REST ----------------------------------------------------------------------------------------------

  function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse, bytes: Buffer) {
    const url = new URL(req.url ?? "/", "http://fake");
    const cdn = /^\/attachments\/([^/]+)\/[^/]+$/.exec(url.pathname);
    if (cdn && req.method === "GET") {
      const file = attachments.get(cdn[1]!);
      if (!file) return json(res, 404, { message: "Not Found" });
      res.writeHead(200, { "content-type": file.mimeType, "content-length": file.data.byteLength });
      return void res.end(file.data);
    }
    const type = String(req.headers["content-type"] ?? "");
    let files: File[] = [];
    let raw = bytes.toString("utf8");
    if (type.startsWith("multipart/form-data")) {
      // discord.js sends `payload_json` and `files[n]` as a form when a message has attachments.
      const form = await new Request("http://fake/", {
        method: "POST",
        headers: { "content-type": type },
        body: bytes,
      }).formData();
      files = [...form.entries()].filter(([k]) => k.startsWith("files[")).map(([, v]) => v as File);
      raw = String(form.get("payload_json") ?? "{}");
    }
    const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : url.pathname;
    const method = req.method ?? "GET";
    const token = (req.headers.authorization ?? "").replace(/^Bot\s+/i, "");
    const bot = byToken.get(token);
    let body: any;
    try {
      body =
        raw && (type.includes("json") || files.length || type.startsWith("multipart"))
          ? JSON.parse(raw)
          : raw || undefined;
    } catch {
      return json(res, 400, { message: "400: Bad Request", code: 50109 });
    }
    calls.push({ method, path, body, account: bot?.account });
    if (!bot) return json(res, 401, { message: "401: Unauthorized", code: 0 });
    let m: RegExpExecArray | null;

    if (method === "GET" && path === "/gateway/bot") {
      return json(res, 200, {
        url: gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === "GET" && path === "/users/@me") return json(res, 200, botUser(bot));
    if (method === "GET" && (m = /^\/channels\/([^/]+)$/.exec(path))) {
      const channel = channels.get(m[1]!);
      return channel
        ? json(res, 200, channelObject(channel))
        : json(res, 404, { message: "Unknown Channel", code: 10003 });
    }
    if (method === "POST" && (m = /^\/channels\/([^/]+)\/typing$/.exec(path))) return json(res, 204);
    if (method === "POST" && /^\/interactions\/[^/]+\/[^/]+\/callback$/.test(path)) return json(res, 204);
    if (method === "POST" && (m = /^\/channels\/([^/]+)\/messages$/.exec(path))) {
      const failure = failures.shift();
      if (failure) {
        if (failure.status === 429) {
          const s = failure.retryAfterSeconds;
          return json(
            res,
            429,
            { message: "You are being rate limited.", retry_after: s, global: false },
            {
              "retry-after": String(Math.ceil(s)),
              "x-ratelimit-limit": "5",
              "x-ratelimit-remaining": "0",
              "x-ratelimit-reset-after": String(s),
              "x-ratelimit-bucket": "fake-bucket",
              "x-ratelimit-scope": "user",
            },
          );
        }
        return json(res, failure.status, { message: `${failure.status}: Server Error`, code: 0 });
      }
      const channelId = m[1]!;
      const content = typeof body?.content === "string" ? body.content : "";
      if (files.length) {
        const channel = channels.get(channelId);
        for (const f of files) {
          uploads.push({
            account: bot.account,
            chatId: channelId,
            ...(channel?.type === 11 ? { threadId: channelId } : {}),
            name: f.name,
            data: new Uint8Array(await f.arrayBuffer()),
            as: "attachment",
            ...(content ? { caption: content } : {}),
            raw: body,
          });
        }
        const msg = messageObject(botUser(bot), channelId, content, {
          attachments: files.map((f) => ({
            id: snowflake(),
            filename: f.name,
            size: f.size,
            url: "",
            proxy_url: "",
          })),
        });
        return json(res, 200, msg);
      }
      if (content.length === 0)
        return json(res, 400, { message: "Cannot send an empty message", code: 50006 });
      if (content.length > MAX_LENGTH) {
        return json(res, 400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            content: {
              _errors: [
                { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${MAX_LENGTH} or fewer in length.` },
              ],
            },
          },
        });
      }
      const ref = body?.message_reference;
      const msg = messageObject(
        botUser(bot),
        channelId,
        content,
        ref ? { type: 19, message_reference: ref } : {},
      );
      messages.set(msg.id, { channelId, content });
      const channel = channels.get(channelId);
      const sent: FakeSent = {
        account: bot.account,
        chatId: channelId,
        text: content,
        raw: body,
        messageId: msg.id,
        at: Date.now(),
      };
      if (channel?.type === 11) sent.threadId = channelId;
      sentLog.push(sent);
      return json(res, 200, msg);
    }
    if (method === "PATCH" && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(path))) {
      const known = messages.get(m[2]!);
      if (!known || known.channelId !== m[1])
        return json(res, 404, { message: "Unknown Message", code: 10008 });
      const retryAfter = editFailures.shift();
      if (retryAfter !== undefined)
        return json(
          res,
          429,
          { message: "You are being rate limited.", retry_after: retryAfter, global: false },
          { "retry-after": String(Math.ceil(retryAfter)), "x-ratelimit-scope": "user" },
        );
      known.content = String(body?.content ?? known.content);
      edits.push({
        account: bot.account,
        chatId: m[1]!,
        messageId: m[2]!,
        text: known.content,
        at: Date.now(),
      });
      return json(res, 200, {
        ...messageObject(botUser(bot), m[1]!, known.content),
        id: m[2],
        edited_timestamp: new Date().toISOString(),
      });
    }
    if (method === "PUT" && (m = /^\/applications\/([^/]+)\/commands$/.exec(path))) {
      commands.set(bot.account, body as unknown[]);
      return json(
        res,
        200,
        (body as Array<Record<string, unknown>>).map((c) => ({
          ...c,
          id: snowflake(),
          application_id: m![1],
          version: "1",
        })),
      );
    }
    if (method === "POST" && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)\/threads$/.exec(path))) {
      const [parentId, messageId] = [m[1]!, m[2]!];
      if (channels.has(messageId)) {
        return json(res, 400, {
          message: "A thread has already been created for this message",
          code: 160004,
        });
      }
      const parent = channels.get(parentId);
      const thread: FakeChannel = {
        id: messageId,
        type: 11,
        name: String(body?.name ?? "thread"),
        parentId,
        ownerId: bot.id,
      };
      if (parent?.guildId) thread.guildId = parent.guildId;
      void ensureChannel(thread);
      return json(res, 201, channelObject(thread));
    }
    return json(res, 404, { message: "404: Not Found", code: 0 });
  }

  // ---- FakePlatform --------------------------------------------------------------------------------------

  const waitForSession = (account = "default", timeoutMs = 5000): Promise<void> => {
    const session = current.get(account);
    if (session?.ws?.readyState === 1) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        account,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        sessionWaiters.delete(waiter);
        reject(new Error(`fake discord: no gateway session for ${account} within ${timeoutMs} ms`));
      }, timeoutMs);
      sessionWaiters.add(waiter);
    });
  };

  const fake: FakeDiscord = {
    apiUrl: `http://127.0.0.1:${port}/api`,
    bots,
    calls,
    gatewayStats,
    bot: botFor,
    waitForSession,

    async inject(message: FakeInbound, extras: InjectExtras = {}): Promise<void> {
      const account = message.account ?? "default";
      const bot = botFor(account);
      if (!extras.now) await waitForSession(account);
      const session = current.get(account);
      const miss = () => missed.set(account, [...(missed.get(account) ?? []), message.text]);
      if (!session) return void miss();
      const author = message.fromSelf
        ? botUser(bot)
        : userObject({
            id: message.userId,
            username: message.userName ?? `user${message.userId}`,
            globalName: message.userName ?? null,
            bot: extras.authorBot ?? false,
          });
      let channelId = message.chatId;
      let guildId: string | undefined;
      if (message.chatType === "dm") {
        await ensureChannel({ id: channelId, type: 1, name: "dm", recipientId: message.userId });
      } else {
        guildId = message.guildId ?? DEFAULT_GUILD_ID;
        await ensureGuild(guildId);
        if (message.chatType === "group") {
          await ensureChannel({ id: channelId, type: 0, name: `channel-${channelId}`, guildId });
        } else {
          const parentId = message.parentChatId ?? DEFAULT_CHANNEL_ID;
          channelId = message.threadId ?? message.chatId;
          await ensureChannel({ id: parentId, type: 0, name: `channel-${parentId}`, guildId });
          await ensureChannel({
            id: channelId,
            type: 11,
            name: `thread-${channelId}`,
            guildId,
            parentId,
            ownerId: message.userId,
          });
        }
      }
      const data: Record<string, unknown> = messageObject(
        author,
        channelId,
        message.mention ? `<@${bot.id}> ${message.text}` : message.text,
        {
          mentions: message.mention ? [botUser(bot)] : [],
          ...(message.messageId ? { id: message.messageId } : {}),
        },
      );
      if (message.media?.length) {
        data.attachments = message.media.map((file) => {
          const id = snowflake();
          attachments.set(id, file);
          const url = `http://127.0.0.1:${port}/attachments/${id}/${encodeURIComponent(file.name)}?ex=1&is=2&hm=signed`;
          return {
            id,
            filename: file.name,
            size: file.data.byteLength,
            url,
            proxy_url: url,
            content_type: file.mimeType,
            ...(file.voice ? { waveform: "AAAA", duration_secs: 1 } : {}),
          };
        });
      }
      if (guildId) {
        data.guild_id = guildId;
        data.member = memberObject();
      } else {
        data.channel_type = 1;
      }
      Object.assign(data, extras.data);
      if (!(await dispatch(session, "MESSAGE_CREATE", data))) miss();
    },

    connected: (account = "default") => current.get(account)?.ws?.readyState === 1,
    missed: (account = "default") => [...(missed.get(account) ?? [])],

    async pressButton(sent, userId, index = 0) {
      const bot = botFor(sent.account);
      await waitForSession(sent.account);
      const session = current.get(sent.account)!;
      const raw = sent.raw as { components?: Array<{ components: Array<{ custom_id: string }> }> };
      const button = raw.components?.[0]?.components[index];
      if (!button) throw new Error(`the message has no button ${index}`);
      const channel = channels.get(sent.chatId);
      const user = userObject({ id: userId, username: `user${userId}` });
      const message = messageObject(botUser(bot), sent.chatId, sent.text, { components: raw.components });
      const id = snowflake();
      await dispatch(session, "INTERACTION_CREATE", {
        id,
        application_id: bot.id,
        type: 3,
        token: `interaction-token-${id}`,
        version: 1,
        channel_id: sent.chatId,
        ...(channel?.guildId
          ? { guild_id: channel.guildId, member: { ...memberObject(), user, permissions: "0" } }
          : { user }),
        channel: channel ? channelObject(channel) : { id: sent.chatId, type: 1 },
        data: { custom_id: button.custom_id, component_type: 2 },
        message,
        app_permissions: "0",
        locale: "en-US",
        entitlements: [],
        authorizing_integration_owners: {},
        attachment_size_limit: 8388608,
      });
    },

    async runCommand({ account = "default", chatId, userId, name, args }) {
      const bot = botFor(account);
      await waitForSession(account);
      const session = current.get(account)!;
      await ensureChannel({ id: chatId, type: 1, name: "dm", recipientId: userId });
      const id = snowflake();
      await dispatch(session, "INTERACTION_CREATE", {
        id,
        application_id: bot.id,
        type: 2,
        token: `interaction-token-${id}`,
        version: 1,
        channel_id: chatId,
        user: userObject({ id: userId, username: `user${userId}` }),
        channel: { id: chatId, type: 1 },
        data: {
          id: snowflake(),
          name,
          type: 1,
          ...(args !== undefined ? { options: [{ name: "args", type: 3, value: args }] } : {}),
        },
        app_permissions: "0",
        locale: "en-US",
        entitlements: [],
        authorizing_integration_owners: {},
        attachment_size_limit: 8388608,
      });
    },

    commands,
    media: { in: true, out: true },
    uploads: () => [...uploads],

    sent: () => sentLog.all(),

    waitForSent(predicate, timeoutMs = 5000): Promise<FakeSent> {
      return sentLog.waitFor(predicate, timeoutMs);
    },

    edits: () => [...edits],

    failNextEdits(count, retryAfterSeconds = 1) {
      editFailures = [...editFailures, ...Array.from({ length: count }, () => retryAfterSeconds)];
    },

    failNextSends(status, count, retryAfterSeconds = 0.05) {
      failures = [...failures, ...Array.from({ length: count }, () => ({ status, retryAfterSeconds }))];
    },

    closeNextIdentify(code: number) {
      identifyCloseCode = code;
    },

    dropConnection(account = "default", code = 4000) {
      current.get(account)?.ws?.close(code, "fake drop");
    },

    async close(): Promise<void> {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
