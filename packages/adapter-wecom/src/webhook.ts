import type { HttpHandler, Logger } from "@switchboard/core";
import { decrypt, signature, signatureMatches, WecomCryptoError } from "./crypto.ts";
import { messageKey } from "./normalize.ts";
import type { WecomMessageFields } from "./types.ts";
import { parseWecomXml, WecomXmlError } from "./xml.ts";

/** Callbacks signed further from now than this are refused (replays of captured requests). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** Callback bodies are a few hundred bytes; anything this large is not WeCom. */
const MAX_BODY_BYTES = 256 * 1024;
/** How many recent message ids are remembered to drop WeCom's retries and replays. */
const REPLAY_CAPACITY = 4096;

export interface CallbackOptions {
  token: string;
  key: Buffer;
  corpId: string;
  logger: Logger;
  /** Handle one verified, decrypted message; runs after the request has been answered. */
  onMessage(fields: WecomMessageFields): Promise<void>;
  /** While true, callbacks are refused with 503 so WeCom retries them elsewhere or later. */
  stopped(): boolean;
  now?: () => number;
}

export interface CallbackHandlers {
  /** URL verification: answers the decrypted `echostr`. */
  get: HttpHandler;
  /** Message push: verified and decrypted, answered `success` at once, handled asynchronously. */
  post: HttpHandler;
  /** Resolves when every message handed to `onMessage` so far has been handled. */
  drain(): Promise<void>;
}

const text = (status: number, body: string): Response =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/** Remembers recently seen ids, oldest evicted first. */
class RecentIds {
  readonly #seen = new Set<string>();
  /** Whether `id` was seen before; records it either way. */
  check(id: string): boolean {
    if (this.#seen.has(id)) return true;
    this.#seen.add(id);
    if (this.#seen.size > REPLAY_CAPACITY) this.#seen.delete(this.#seen.values().next().value!);
    return false;
  }
}

/**
 * The two handlers of a WeCom self-built app's callback URL.
 * @see https://developer.work.weixin.qq.com/document/path/90930
 */
export function createCallbackHandlers(opts: CallbackOptions): CallbackHandlers {
  const now = opts.now ?? Date.now;
  const recent = new RecentIds();
  const inFlight = new Set<Promise<void>>();

  /** The signed query parameters, or the response refusing the request. */
  function signedQuery(
    url: URL,
    extra: string[],
  ): { timestamp: string; nonce: string; sig: string } | Response {
    const q = url.searchParams;
    const sig = q.get("msg_signature");
    const timestamp = q.get("timestamp");
    const nonce = q.get("nonce");
    if (!sig || !timestamp || !nonce || extra.some((k) => !q.get(k))) {
      return text(
        400,
        "missing msg_signature, timestamp, nonce" + (extra.length ? `, ${extra.join(", ")}` : ""),
      );
    }
    if (!/^\d{1,12}$/.test(timestamp)) return text(400, "timestamp is not a number");
    if (Math.abs(now() - Number(timestamp) * 1000) > MAX_CLOCK_SKEW_MS)
      return text(403, "timestamp too old or in the future");
    return { timestamp, nonce, sig };
  }

  function verified(signed: { timestamp: string; nonce: string; sig: string }, encrypted: string): boolean {
    return signatureMatches(signature(opts.token, signed.timestamp, signed.nonce, encrypted), signed.sig);
  }

  /** Decrypt and check the receiver; a `Response` when the ciphertext is bad or meant for another company. */
  function open(encrypted: string): string | Response {
    let result: { message: string; receiveId: string };
    try {
      result = decrypt(opts.key, encrypted);
    } catch (err) {
      if (err instanceof WecomCryptoError) return text(400, "cannot decrypt");
      throw err;
    }
    if (result.receiveId !== opts.corpId) {
      opts.logger.warn(
        { receiveId: result.receiveId },
        "wecom callback encrypted for another CorpID: refused",
      );
      return text(400, "wrong receiver");
    }
    return result.message;
  }

  const get: HttpHandler = (request) => {
    if (opts.stopped()) return text(503, "stopping");
    const url = new URL(request.url);
    const signed = signedQuery(url, ["echostr"]);
    if (signed instanceof Response) return signed;
    let echostr = url.searchParams.get("echostr")!;
    // A literal `+` decodes to a space; WeCom escapes it, but a hand-pasted URL may not.
    if (!verified(signed, echostr) && echostr.includes(" ")) echostr = echostr.replaceAll(" ", "+");
    if (!verified(signed, echostr)) return text(401, "bad signature");
    const plain = open(echostr);
    if (plain instanceof Response) return plain;
    // WeCom compares the body byte for byte: the bare plaintext, no quotes or newline.
    return text(200, plain);
  };

  const post: HttpHandler = async (request) => {
    if (opts.stopped()) return text(503, "stopping");
    const signed = signedQuery(new URL(request.url), []);
    if (signed instanceof Response) return signed;
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) return text(413, "body too large");
    const raw = await request.text();
    if (Buffer.byteLength(raw) > MAX_BODY_BYTES) return text(413, "body too large");

    let outer: Record<string, string>;
    try {
      outer = parseWecomXml(raw);
    } catch (err) {
      if (err instanceof WecomXmlError) return text(400, "malformed XML");
      throw err;
    }
    const encrypted = outer.Encrypt;
    if (!encrypted) return text(400, "no Encrypt field");
    if (!verified(signed, encrypted)) return text(401, "bad signature");
    const plain = open(encrypted);
    if (plain instanceof Response) return plain;
    let fields: WecomMessageFields;
    try {
      fields = parseWecomXml(plain);
    } catch (err) {
      if (err instanceof WecomXmlError) return text(400, "malformed message XML");
      throw err;
    }

    // WeCom retries an unanswered callback up to three times; each retry (or a replay) is answered, not handled.
    if (recent.check(messageKey(fields))) return text(200, "success");

    const task = opts
      .onMessage(fields)
      .catch((err: unknown) => opts.logger.error({ err }, "wecom callback message could not be handled"))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    // Answer at once: WeCom waits 5 s before retrying, and turns take longer than that.
    return text(200, "success");
  };

  return {
    get,
    post,
    drain: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
