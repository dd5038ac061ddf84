import { timingSafeEqual } from "node:crypto";
import type { HttpHandler, Logger } from "@switchboard/core";
import type { Update } from "grammy/types";
import { z } from "zod";

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Only the envelope is checked here; the message inside is read by `normalizeUpdate`. */
const updateEnvelopeSchema = z.looseObject({ update_id: z.number().int().nonnegative() });

export interface WebhookOptions {
  secret: string;
  logger: Logger;
  /** Normalize and dispatch one update; resolves once core accepted it. */
  handle(update: Update): Promise<void>;
}

/**
 * The handler mounted on the gateway's listener for one bot account. Telegram retries a delivery that
 * did not get a 2xx, so the answer is 200 only once core accepted the update, and 500 when it could
 * not (core dedupes the retry by message id).
 * @see https://core.telegram.org/bots/api#setwebhook
 */
export function telegramWebhookHandler(opts: WebhookOptions): HttpHandler {
  const expected = Buffer.from(opts.secret);
  return async (request) => {
    const given = Buffer.from(request.headers.get(SECRET_HEADER) ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      opts.logger.warn("Telegram webhook call with a wrong secret token rejected");
      return new Response("secret token is wrong", { status: 401 });
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return new Response("body is not JSON", { status: 400 });
    }
    const envelope = updateEnvelopeSchema.safeParse(body);
    if (!envelope.success) return new Response("body is not a Telegram update", { status: 400 });
    try {
      await opts.handle(envelope.data as unknown as Update);
    } catch (err) {
      opts.logger.error({ err, updateId: envelope.data.update_id }, "Telegram webhook update not accepted");
      return new Response("not accepted", { status: 500 });
    }
    return new Response(null, { status: 200 });
  };
}
