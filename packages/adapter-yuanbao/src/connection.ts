import { randomUUID } from "node:crypto";
import { AuthError, type Logger, type PlatformError, TransientError } from "@switchboard/core";
import WebSocket from "ws";
import { decode, decodeFrame, encode, encodeFrame, type Frame } from "./codec.ts";
import { toPlatformError } from "./errors.ts";
import { CLIENT_VERSION, INSTANCE_ID, type SignTokenClient } from "./sign.ts";
import {
  CmdType,
  CONN_MODULE,
  type Head,
  PERMANENT_CLOSE_CODES,
  PLATFORM,
  type SignToken,
  type YuanbaoTimings,
} from "./types.ts";

export interface ConnectionOptions {
  wsUrl: string;
  sign: SignTokenClient;
  /** `bot_id` from the config; else the one sign-token returns. */
  botId: string | undefined;
  timings: YuanbaoTimings;
  logger: Logger;
  /** A Push frame carrying data (acked already when it asked for it). */
  onPush(frame: Frame): void;
  /** The server closed the connection with a permanent code: the connection is given up. */
  onFailure(error: PlatformError): void;
}

interface Pending {
  cmd: string;
  resolve(frame: Frame): void;
  reject(error: PlatformError): void;
  timer: NodeJS.Timeout;
}

type State = "idle" | "connecting" | "open" | "reconnecting" | "stopped" | "failed";

/**
 * The one WebSocket of a Yuanbao bot: sign a token, open the socket, `auth-bind`, then ping every 30 s.
 * Requests are paired with their Response by `head.msg_id`; pushes are acked when `need_ack` is set. A drop, or
 * two missed pongs, reconnects with exponential backoff (1 s → 60 s) and a freshly signed token; a permanent
 * close code stops it for good.
 */
export class YuanbaoConnection {
  readonly #opts: ConnectionOptions;
  #ws: WebSocket | undefined;
  #state: State = "idle";
  #seq = 0;
  #missed = 0;
  #attempt = 0;
  #pingTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #pending = new Map<string, Pending>();
  #botId: string | undefined;
  #connectId = "";
  #failure: PlatformError | undefined;
  /** How many times the connection has been (re)established; tests wait on it. */
  connects = 0;

  constructor(opts: ConnectionOptions) {
    this.#opts = opts;
    this.#botId = opts.botId;
  }

  get botId(): string | undefined {
    return this.#botId;
  }
  get connectId(): string {
    return this.#connectId;
  }
  get open(): boolean {
    return this.#state === "open";
  }
  /** Set once a permanent close code ended the connection. */
  get failure(): PlatformError | undefined {
    return this.#failure;
  }

  /** Connect and bind; rejects when that fails (credentials → `AuthError`, unreachable → `TransientError`). */
  async start(): Promise<void> {
    this.#state = "connecting";
    try {
      await this.#connect(false);
    } catch (err) {
      if (this.#state === "connecting") this.#state = "idle";
      throw this.#failure ?? err;
    }
  }

  /** After a failed `start()` that is worth retrying: keep trying in the background. */
  retryInBackground(): void {
    if (this.#state === "idle") this.#scheduleReconnect();
  }

  async #connect(freshToken: boolean): Promise<void> {
    const token = freshToken ? await this.#opts.sign.refresh() : await this.#opts.sign.get();
    try {
      await this.#dialAndBind(token);
    } catch (err) {
      // A cached token the server no longer takes: sign a new one and bind once more.
      if (freshToken || !(err instanceof AuthError) || this.#stopped()) throw err;
      this.#opts.logger.info("yuanbao refused the cached token; signing a new one");
      await this.#dialAndBind(await this.#opts.sign.refresh());
    }
  }

  #stopped(): boolean {
    return this.#state === "stopped" || this.#state === "failed";
  }

  async #dialAndBind(token: SignToken): Promise<void> {
    if (this.#stopped()) throw new TransientError(PLATFORM, "yuanbao connection stopped");
    const botId = this.#opts.botId ?? token.bot_id;
    if (!botId) {
      throw new AuthError(
        PLATFORM,
        "yuanbao sign-token returned no bot_id: set bot_id for this account (your bot's account id)",
      );
    }
    this.#botId = botId;
    const ws = await this.#dial();
    const { timings } = this.#opts;
    const req = encode("AuthBindReq", {
      biz_id: "ybBot",
      auth_info: { uid: botId, source: token.source || "bot", token: token.token },
      device_info: {
        app_version: CLIENT_VERSION,
        app_operation_system: process.platform,
        instance_id: INSTANCE_ID,
        bot_version: CLIENT_VERSION,
      },
      ...(token.route_env ? { env_name: token.route_env } : {}),
    });
    let rsp: { code: number; message: string; connect_id: string };
    try {
      const frame = await this.#request(ws, "auth-bind", CONN_MODULE, req, timings.authTimeoutMs);
      rsp = decode("AuthBindRsp", frame.data);
    } catch (err) {
      ws.terminate();
      throw err;
    }
    if (rsp.code !== 0 || !rsp.connect_id) {
      ws.terminate();
      throw toPlatformError({
        action: "auth-bind",
        code: rsp.code || -1,
        message: rsp.message || "no connect_id in the answer",
      });
    }
    if (this.#stopped()) {
      ws.terminate();
      throw new TransientError(PLATFORM, "yuanbao connection stopped");
    }
    this.#connectId = rsp.connect_id;
    this.#state = "open";
    this.#missed = 0;
    this.connects++;
    this.#startPings(ws);
    this.#opts.logger.info({ connectId: rsp.connect_id, botId }, "yuanbao connected");
  }

  /** Open the socket (within the connect timeout) and make it the current one. */
  #dial(): Promise<WebSocket> {
    const { timings, wsUrl } = this.#opts;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { handshakeTimeout: timings.connectTimeoutMs });
      const fail = (err: Error) => {
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        reject(toPlatformError({ action: "connect", message: err.message, cause: err }));
      };
      ws.once("error", fail);
      ws.once("unexpected-response", (_req, res) => {
        fail(new Error(`the WebSocket gateway answered HTTP ${res.statusCode}`));
      });
      ws.once("open", () => {
        ws.off("error", fail);
        this.#ws = ws;
        ws.on("message", (data: Buffer) => this.#onMessage(ws, data));
        ws.on("error", (err) => this.#opts.logger.warn({ err }, "yuanbao socket error"));
        ws.on("close", (code, reason) => this.#onClose(ws, code, reason.toString("utf8")));
        resolve(ws);
      });
    });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  /** Send a Request on `ws` and resolve with its Response (matched by `msg_id`). */
  #request(ws: WebSocket, cmd: string, module: string, data: Uint8Array, timeoutMs: number): Promise<Frame> {
    const msgId = randomUUID().replaceAll("-", "");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(msgId);
        reject(toPlatformError({ action: cmd, timeout: true }));
      }, timeoutMs);
      this.#pending.set(msgId, { cmd, resolve, reject, timer });
      const head: Partial<Head> = {
        cmd_type: CmdType.Request,
        cmd,
        seq_no: this.#nextSeq(),
        msg_id: msgId,
        module,
      };
      ws.send(encodeFrame(head, data), (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(msgId);
        reject(toPlatformError({ action: cmd, closeCode: 1006, message: err.message, cause: err }));
      });
    });
  }

  /** Send a Request on the bound connection and wait for its Response. */
  request(
    cmd: string,
    module: string,
    data: Uint8Array,
    timeoutMs = this.#opts.timings.requestTimeoutMs,
  ): Promise<Frame> {
    const ws = this.#ws;
    if (this.#failure) return Promise.reject(this.#failure);
    if (!ws || this.#state !== "open" || ws.readyState !== WebSocket.OPEN)
      return Promise.reject(
        new TransientError(PLATFORM, `yuanbao ${cmd} failed: not connected (reconnecting)`),
      );
    return this.#request(ws, cmd, module, data, timeoutMs);
  }

  /** Send a Request whose answer nobody waits for (reply heartbeats). */
  fire(cmd: string, module: string, data: Uint8Array): void {
    const ws = this.#ws;
    if (!ws || this.#state !== "open" || ws.readyState !== WebSocket.OPEN) return;
    const head: Partial<Head> = {
      cmd_type: CmdType.Request,
      cmd,
      seq_no: this.#nextSeq(),
      msg_id: randomUUID().replaceAll("-", ""),
      module,
    };
    ws.send(encodeFrame(head, data), () => {});
  }

  #onMessage(ws: WebSocket, raw: Buffer): void {
    let frame: Frame;
    try {
      frame = decodeFrame(raw);
    } catch (err) {
      this.#opts.logger.debug({ err }, "yuanbao frame not decodable; ignored");
      return;
    }
    const { head } = frame;
    if (head.cmd_type === CmdType.Response) {
      const id = this.#pending.has(head.msg_id) ? head.msg_id : this.#byCommand(head.cmd);
      const pending = id === undefined ? undefined : this.#pending.get(id);
      if (id === undefined || !pending) return; // heartbeat answers, late answers
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.resolve(frame);
      return;
    }
    if (head.cmd_type !== CmdType.Push) return;
    if (head.need_ack) {
      const ack: Partial<Head> = {
        cmd_type: CmdType.PushAck,
        cmd: head.cmd,
        seq_no: this.#nextSeq(),
        msg_id: head.msg_id,
        module: head.module,
      };
      ws.send(encodeFrame(ack), () => {});
    }
    if (head.cmd === "kickout") {
      this.#opts.logger.warn({ module: head.module }, "yuanbao kicked this connection out");
      return;
    }
    if (frame.data.length > 0) this.#opts.onPush(frame);
  }

  /**
   * A pong or bind answer that does not echo our `msg_id` still answers the oldest ping / auth-bind waiting
   * (hermes-agent accepts them the same way); business answers are only ever matched by id.
   */
  #byCommand(cmd: string): string | undefined {
    if (cmd !== "ping" && cmd !== "auth-bind") return undefined;
    for (const [id, p] of this.#pending) if (p.cmd === cmd) return id;
    return undefined;
  }

  #startPings(ws: WebSocket): void {
    clearInterval(this.#pingTimer);
    const { timings } = this.#opts;
    this.#pingTimer = setInterval(() => {
      if (this.#ws !== ws || this.#state !== "open") return;
      this.#request(ws, "ping", CONN_MODULE, new Uint8Array(), timings.pongTimeoutMs).then(
        () => {
          this.#missed = 0;
        },
        () => {
          if (this.#ws !== ws) return;
          this.#missed++;
          this.#opts.logger.warn({ missed: this.#missed, of: timings.missedPongs }, "yuanbao pong missed");
          if (this.#missed >= timings.missedPongs) {
            this.#opts.logger.warn("yuanbao connection silent; reconnecting");
            ws.terminate();
          }
        },
      );
    }, timings.pingIntervalMs);
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    this.#rejectPending(
      toPlatformError({ action: "request", closeCode: code, message: "the connection closed" }),
    );
    const wasOpen = this.#state === "open";
    if (this.#stopped()) return;
    if (PERMANENT_CLOSE_CODES.has(code)) {
      this.#state = "failed";
      this.#failure = toPlatformError({
        action: "connection",
        closeCode: code,
        message: reason || undefined,
      });
      clearTimeout(this.#reconnectTimer);
      this.#opts.logger.error({ err: this.#failure, code }, this.#failure.message);
      this.#opts.onFailure(this.#failure);
      return;
    }
    this.#opts.logger.warn({ code, reason }, "yuanbao connection closed; reconnecting");
    if (wasOpen) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped() || this.#reconnectTimer) return;
    this.#state = "reconnecting";
    const { reconnectBaseMs, reconnectMaxMs } = this.#opts.timings;
    const delay = Math.min(reconnectBaseMs * 2 ** Math.min(this.#attempt, 30), reconnectMaxMs);
    this.#attempt++;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect(true).then(
        () => {
          this.#attempt = 0;
        },
        (err: unknown) => {
          if (this.#stopped()) return;
          this.#opts.logger.warn({ err, attempt: this.#attempt }, "yuanbao reconnect failed");
          this.#state = "reconnecting";
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  #rejectPending(error: PlatformError): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(error);
    }
  }

  /** Close the socket and stop reconnecting; resolves once the socket is closed. */
  async close(): Promise<void> {
    if (this.#state !== "failed") this.#state = "stopped";
    clearInterval(this.#pingTimer);
    clearTimeout(this.#reconnectTimer);
    this.#pingTimer = this.#reconnectTimer = undefined;
    this.#rejectPending(new TransientError(PLATFORM, "yuanbao connection stopped"));
    const ws = this.#ws;
    this.#ws = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), 1000);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, "bye");
    });
  }
}
