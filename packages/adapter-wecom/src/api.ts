import { randomUUID } from "node:crypto";
import {
  MediaError,
  type MediaFile,
  mediaTooLarge,
  mimeTypeOf,
  readMediaResponse,
  TransientError,
} from "@switchboard/core";
import { toPlatformError, type WecomFailure } from "./errors.ts";
import { PLATFORM, type WecomSendResponse, type WecomTokenResponse } from "./types.ts";

/** `errcode`s meaning the access token expired (42001) or is not valid (40014): fetch a new one, retry once. */
const TOKEN_ERRCODES = new Set([40014, 42001]);
/** Refresh this long before WeCom's stated expiry, so a token never dies in flight. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface WecomApiOptions {
  apiUrl: string;
  corpId: string;
  corpSecret: string;
  agentId: number;
  /** Aborts requests in flight when the adapter stops. */
  signal?: () => AbortSignal | undefined;
  now?: () => number;
}

/** Who a message goes to: a member (`touser`, the DM case) or an app group chat (`chatid`). */
export type WecomTarget = { touser: string } | { chatid: string };

/** The few WeCom server API calls the adapter makes, with the app's access token cached until it expires. */
export class WecomApi {
  readonly #opts: WecomApiOptions;
  readonly #now: () => number;
  #token: { value: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: WecomApiOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
  }

  /** The cached access token, fetched from `/cgi-bin/gettoken` when missing or about to expire. */
  accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt > this.#now()) return Promise.resolve(this.#token.value);
    // One fetch at a time: concurrent sends share it instead of each invalidating the other's token.
    this.#pending ??= this.#fetchToken().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetchToken(): Promise<string> {
    const url = new URL("/cgi-bin/gettoken", this.#opts.apiUrl);
    url.searchParams.set("corpid", this.#opts.corpId);
    url.searchParams.set("corpsecret", this.#opts.corpSecret);
    const body = await this.#request<WecomTokenResponse>("gettoken", url, undefined);
    if (body.errcode !== 0 || !body.access_token) {
      throw toPlatformError({ action: "gettoken", errcode: body.errcode || -2, errmsg: body.errmsg });
    }
    const lifetimeMs = (body.expires_in ?? 7200) * 1000;
    this.#token = {
      value: body.access_token,
      expiresAt: this.#now() + Math.max(lifetimeMs / 2, lifetimeMs - EXPIRY_MARGIN_MS),
    };
    return body.access_token;
  }

  /** Forget `token` if it is still the cached one (a concurrent caller may already have replaced it). */
  #invalidate(token: string): void {
    if (this.#token?.value === token) this.#token = undefined;
  }

  /** Send a text message as the app; returns WeCom's `msgid` (app group chats return none: one is made up). */
  async sendText(target: WecomTarget, content: string): Promise<string> {
    const isChat = "chatid" in target;
    const path = isChat ? "/cgi-bin/appchat/send" : "/cgi-bin/message/send";
    const payload = isChat
      ? { chatid: target.chatid, msgtype: "text", text: { content }, safe: 0 }
      : { touser: target.touser, msgtype: "text", agentid: this.#opts.agentId, text: { content }, safe: 0 };
    const body = await this.#withToken<WecomSendResponse>(
      isChat ? "appchat/send" : "message/send",
      path,
      payload,
    );
    return body.msgid ?? `wecom-${randomUUID()}`;
  }

  /** Send an uploaded file (`media_id`) as an `image`, `voice`, `video` or `file` message. */
  async sendMedia(target: WecomTarget, msgtype: string, mediaId: string): Promise<string> {
    const isChat = "chatid" in target;
    const media = { [msgtype]: { media_id: mediaId } };
    const payload = isChat
      ? { chatid: target.chatid, msgtype, ...media, safe: 0 }
      : { touser: target.touser, msgtype, agentid: this.#opts.agentId, ...media, safe: 0 };
    const body = await this.#withToken<WecomSendResponse>(
      isChat ? "appchat/send" : "message/send",
      isChat ? "/cgi-bin/appchat/send" : "/cgi-bin/message/send",
      payload,
    );
    return body.msgid ?? `wecom-${randomUUID()}`;
  }

  /**
   * Upload a temporary file (`/cgi-bin/media/upload`, multipart field `media`); returns its `media_id`.
   * @see https://developer.work.weixin.qq.com/document/path/90253
   */
  async upload(
    type: "image" | "voice" | "video" | "file",
    name: string,
    data: Uint8Array,
    mimeType: string,
  ): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const url = new URL("/cgi-bin/media/upload", this.#opts.apiUrl);
      url.searchParams.set("access_token", token);
      url.searchParams.set("type", type);
      const form = new FormData();
      form.append("media", new Blob([data as Uint8Array<ArrayBuffer>], { type: mimeType }), name);
      const body = await this.#request<{ errcode: number; errmsg: string; media_id?: string }>(
        "media/upload",
        url,
        form,
      );
      if (body.errcode === 0 && body.media_id) return body.media_id;
      if (TOKEN_ERRCODES.has(body.errcode) && attempt === 1) {
        this.#invalidate(token);
        continue;
      }
      throw toPlatformError({ action: "media/upload", errcode: body.errcode || -2, errmsg: body.errmsg });
    }
  }

  /**
   * Download a temporary file a member sent (`/cgi-bin/media/get`), refused past `maxBytes` while streaming.
   * The access token is in the URL, which never leaves this class. WeCom answers errors as JSON.
   * @see https://developer.work.weixin.qq.com/document/path/90254
   */
  async download(
    mediaId: string,
    options: { maxBytes: number; name?: string; mimeType?: string },
  ): Promise<MediaFile> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const url = new URL("/cgi-bin/media/get", this.#opts.apiUrl);
      url.searchParams.set("access_token", token);
      url.searchParams.set("media_id", mediaId);
      let res: Response;
      try {
        const stop = this.#opts.signal?.();
        res = await fetch(url, stop ? { signal: stop } : {});
      } catch (cause) {
        throw new MediaError("media_download_failed", "the WeCom API is unreachable", { cause });
      }
      if (res.headers.get("content-type")?.includes("json")) {
        const body = (await res.json().catch(() => ({}))) as { errcode?: number; errmsg?: string };
        if (body.errcode && TOKEN_ERRCODES.has(body.errcode) && attempt === 1) {
          this.#invalidate(token);
          continue;
        }
        throw new MediaError(
          "media_download_failed",
          `wecom media/get: ${body.errmsg ?? "error"} (${body.errcode ?? "?"})`,
        );
      }
      const declared = Number(res.headers.get("content-length"));
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw mediaTooLarge(options.maxBytes, declared);
      }
      const name = options.name ?? filenameOf(res.headers.get("content-disposition")) ?? mediaId;
      const guessed = mimeTypeOf(name);
      const mimeType = options.mimeType ?? (guessed !== "application/octet-stream" ? guessed : undefined);
      return readMediaResponse(res, { maxBytes: options.maxBytes, name, ...(mimeType ? { mimeType } : {}) });
    }
  }

  /** POST `payload` with the access token; on an expired/invalid token, fetch a fresh one and retry once. */
  async #withToken<T extends { errcode: number; errmsg: string }>(
    action: string,
    path: string,
    payload: unknown,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const url = new URL(path, this.#opts.apiUrl);
      url.searchParams.set("access_token", token);
      const body = await this.#request<T>(action, url, payload);
      if (body.errcode === 0) return body;
      if (TOKEN_ERRCODES.has(body.errcode) && attempt === 1) {
        this.#invalidate(token);
        continue;
      }
      throw toPlatformError({ action, errcode: body.errcode, errmsg: body.errmsg });
    }
  }

  async #request<T>(action: string, url: URL, payload: unknown): Promise<T> {
    const stop = this.#opts.signal?.();
    const signal = stop
      ? AbortSignal.any([stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
      : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(url, {
        method: payload === undefined ? "GET" : "POST",
        ...(payload === undefined
          ? {}
          : payload instanceof FormData
            ? { body: payload }
            : { headers: { "content-type": "application/json" }, body: JSON.stringify(payload) }),
        signal,
      });
    } catch (cause) {
      throw toPlatformError(cause);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const failure: WecomFailure = { action, status: res.status };
      const retryAfter = Number(res.headers.get("retry-after"));
      if (Number.isFinite(retryAfter) && retryAfter > 0) failure.retryAfterMs = retryAfter * 1000;
      throw toPlatformError(failure);
    }
    try {
      return (await res.json()) as T;
    } catch (cause) {
      throw new TransientError(PLATFORM, `wecom ${action} answered with a body that is not JSON`, {
        status: 502,
        cause,
      });
    }
  }
}

/** The file name of a `Content-Disposition: attachment; filename="x.jpg"` header. */
function filenameOf(header: string | null): string | undefined {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header ?? "");
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}
