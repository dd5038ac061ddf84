import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { HttpHandler, Logger } from "@switchboard/core";
import type { FeishuEventEnvelope } from "./types.ts";

/** Signed requests further from now than this are refused (replays of captured requests). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** How many recent event ids are remembered to drop Feishu's redeliveries and replays. */
const REPLAY_CAPACITY = 4096;

/** An `encrypt` field that does not decrypt with the configured key. */
export class FeishuCryptoError extends Error {
  override name = "FeishuCryptoError";
}

/** AES-256-CBC with key = SHA-256(encrypt_key) and a random IV prepended, base64: how Feishu encrypts events. */
export function encryptEvent(encryptKey: string, plaintext: string): string {
  const key = createHash("sha256").update(encryptKey).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  return Buffer.concat([iv, cipher.update(plaintext, "utf8"), cipher.final()]).toString("base64");
}

export function decryptEvent(encryptKey: string, encrypted: string): string {
  const data = Buffer.from(encrypted, "base64");
  if (data.length < 32 || data.length % 16 !== 0)
    throw new FeishuCryptoError("the ciphertext is not whole AES blocks");
  try {
    const key = createHash("sha256").update(encryptKey).digest();
    const decipher = createDecipheriv("aes-256-cbc", key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString("utf8");
  } catch (cause) {
    throw new FeishuCryptoError("the ciphertext does not decrypt with encrypt_key", { cause });
  }
}

/** `X-Lark-Signature`: SHA-256 hex of timestamp + nonce + encrypt_key + the raw body. */
export function eventSignature(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return createHash("sha256")
    .update(timestamp + nonce + encryptKey + body)
    .digest("hex");
}

/** A verified v2 event, ready to handle. */
export interface VerifiedEvent {
  eventId: string | undefined;
  eventType: string | undefined;
  event: unknown;
}

export interface WebhookOptions {
  encryptKey?: string | undefined;
  verificationToken?: string | undefined;
  logger: Logger;
  /** Handle one verified event; runs after the request has been answered. */
  onEvent(event: VerifiedEvent): Promise<void>;
  /** While true, events are refused with 503 so Feishu redelivers them later. */
  stopped(): boolean;
  now?: () => number;
}

export interface WebhookHandler {
  handler: HttpHandler;
  /** Resolves when every event handed to `onEvent` so far has been handled. */
  drain(): Promise<void>;
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
const refuse = (status: number, msg: string): Response => json(status, { code: status, msg });

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The handler of a Feishu app's event request URL: signature (when `encrypt_key` is set) and timestamp
 * checked, `encrypt` decrypted, `url_verification` answered, verification token checked, event ids
 * deduplicated; events are answered at once and handled asynchronously (Feishu redelivers after 3 s).
 * @see https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case
 */
export function createWebhookHandler(opts: WebhookOptions): WebhookHandler {
  const now = opts.now ?? Date.now;
  const seen = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const handler: HttpHandler = async (request) => {
    if (opts.stopped()) return refuse(503, "stopping");
    if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES)
      return refuse(413, "body too large");
    const raw = await request.text();
    if (Buffer.byteLength(raw) > MAX_BODY_BYTES) return refuse(413, "body too large");

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return refuse(400, "malformed JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return refuse(400, "not a JSON object");

    const timestamp = request.headers.get("x-lark-request-timestamp");
    const nonce = request.headers.get("x-lark-request-nonce");
    const sig = request.headers.get("x-lark-signature");
    const signed = Boolean(timestamp && nonce && sig);
    if (opts.encryptKey && signed) {
      if (!equalText(eventSignature(timestamp!, nonce!, opts.encryptKey, raw), sig!.toLowerCase())) {
        return refuse(401, "bad signature");
      }
      if (!/^\d{1,12}$/.test(timestamp!) || Math.abs(now() - Number(timestamp) * 1000) > MAX_CLOCK_SKEW_MS) {
        return refuse(403, "timestamp too old or in the future");
      }
    }

    let payload: FeishuEventEnvelope;
    const encrypted = (body as { encrypt?: unknown }).encrypt;
    if (typeof encrypted === "string") {
      if (!opts.encryptKey) return refuse(400, "the event is encrypted but no encrypt_key is configured");
      let plain: string;
      try {
        plain = decryptEvent(opts.encryptKey, encrypted);
      } catch (err) {
        if (err instanceof FeishuCryptoError) return refuse(400, "cannot decrypt");
        throw err;
      }
      try {
        payload = JSON.parse(plain) as FeishuEventEnvelope;
      } catch {
        return refuse(400, "malformed JSON inside encrypt");
      }
      if (typeof payload !== "object" || payload === null) return refuse(400, "not a JSON object");
    } else {
      // With an encrypt_key Feishu encrypts everything: a plaintext request did not come from it.
      if (opts.encryptKey) return refuse(400, "expected an encrypted event");
      payload = body as FeishuEventEnvelope;
    }

    const token = payload.header?.token ?? payload.token;
    if (opts.verificationToken && (typeof token !== "string" || !equalText(token, opts.verificationToken))) {
      return refuse(401, "bad verification token");
    }
    // Feishu does not sign the URL check; decrypting it (or its token) is the proof.
    if (payload.type === "url_verification") return json(200, { challenge: payload.challenge ?? "" });
    if (opts.encryptKey && !signed) return refuse(401, "missing signature");

    if (payload.schema !== "2.0" || !payload.header) return json(200, {}); // v1 events: not subscribed to
    const eventId = payload.header.event_id;
    if (eventId) {
      if (seen.has(eventId)) return json(200, {});
      seen.add(eventId);
      if (seen.size > REPLAY_CAPACITY) seen.delete(seen.values().next().value!);
    }
    const task = opts
      .onEvent({ eventId, eventType: payload.header.event_type, event: payload.event })
      .catch((err: unknown) => opts.logger.error({ err }, "feishu event could not be handled"))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    return json(200, {});
  };

  return {
    handler,
    drain: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
