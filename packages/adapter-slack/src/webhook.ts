import { createHmac, timingSafeEqual } from "node:crypto";
import type { App, Receiver } from "@slack/bolt";
import type { HttpHandler, Logger } from "@switchboard/core";
import { slackEventBodySchema } from "./types.ts";

/** Slack's replay window: a request signed longer ago than this is refused. */
export const MAX_REQUEST_AGE_S = 5 * 60;

/** Events API bodies are a few kilobytes; anything far larger is not Slack. */
const MAX_BODY_BYTES = 1024 * 1024;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Check a request's `X-Slack-Signature`: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`
 * keyed with the signing secret, and its timestamp within five minutes of now (either way).
 * @see https://docs.slack.dev/authentication/verifying-requests-from-slack
 */
export function verifySlackSignature(options: {
  signingSecret: string;
  timestamp: string | null;
  signature: string | null;
  body: string;
  nowMs?: number;
}): SignatureCheck {
  const { timestamp, signature } = options;
  if (!timestamp || !signature) return { ok: false, reason: "missing signature headers" };
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(seconds))
    return { ok: false, reason: "bad timestamp" };
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - seconds) > MAX_REQUEST_AGE_S) return { ok: false, reason: "stale timestamp" };
  const expected = Buffer.from(
    `v0=${createHmac("sha256", options.signingSecret).update(`v0:${timestamp}:${options.body}`).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad signature" };
  }
  return { ok: true };
}

/**
 * A Bolt receiver for the Events API that lives on the gateway's HTTP listener instead of its own
 * server: `handle` verifies, answers Slack at once (Slack retries anything slower than 3 s), and
 * feeds the event to the App afterwards.
 */
export class SlackEventsReceiver implements Receiver {
  readonly #signingSecret: string;
  readonly #logger: Logger;
  #app: App | undefined;
  #running = false;

  constructor(options: { signingSecret: string; logger: Logger }) {
    this.#signingSecret = options.signingSecret;
    this.#logger = options.logger;
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
  }

  readonly handle: HttpHandler = async (request) => {
    const app = this.#app;
    if (!this.#running || !app) return text(503, "slack adapter is not running");
    if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES)
      return text(413, "body too large");
    const raw = await request.text();
    if (raw.length > MAX_BODY_BYTES) return text(413, "body too large");

    const check = verifySlackSignature({
      signingSecret: this.#signingSecret,
      timestamp: request.headers.get("x-slack-request-timestamp"),
      signature: request.headers.get("x-slack-signature"),
      body: raw,
    });
    if (!check.ok) {
      this.#logger.warn({ reason: check.reason }, "slack: refused an unverified events request");
      return text(401, check.reason);
    }

    // Interactivity and slash commands arrive form-encoded; this adapter subscribes to neither.
    if ((request.headers.get("content-type") ?? "").includes("application/x-www-form-urlencoded")) {
      return text(200, "");
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return text(400, "malformed JSON");
    }
    const parsed = slackEventBodySchema.safeParse(json);
    if (!parsed.success) return text(400, "not an Events API body");
    const body = parsed.data;

    if (body.type === "url_verification") {
      if (!body.challenge) return text(400, "url_verification without a challenge");
      return Response.json({ challenge: body.challenge });
    }
    if (body.type !== "event_callback") return text(200, "");

    const retryNum = Number(request.headers.get("x-slack-retry-num") ?? Number.NaN);
    const retryReason = request.headers.get("x-slack-retry-reason") ?? undefined;
    void app
      .processEvent({
        body,
        ack: async () => {},
        ...(Number.isInteger(retryNum) ? { retryNum } : {}),
        ...(retryReason ? { retryReason } : {}),
      })
      .catch((err: unknown) => this.#logger.error({ err }, "slack: processing an event failed"));
    return text(200, "");
  };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
