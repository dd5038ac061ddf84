import type { GatewayConfig } from "../../config/load.ts";
import type { Logger } from "../../logger.ts";
import { newPairingCode, pairingSettings } from "../../pairing/policy.ts";
import type { InboundMessage } from "../../platform.ts";
import type { PairingRequest } from "../../sessions/pairing-store.ts";
import type { SessionStore } from "../../sessions/store-types.ts";
import { replyAddress } from "../delivery.ts";
import { accountConfig } from "./gate.ts";

const HOUR_MS = 3_600_000;
/** A fresh code that collides with a live one is drawn again, at most this often. */
const CODE_ATTEMPTS = 3;
const FULL_WARNING_EVERY_MS = 60_000;

export interface PairingStageDeps {
  accounts: () => GatewayConfig["platformAccounts"];
  store: Pick<SessionStore, "pairing" | "rates">;
  send: (inbound: InboundMessage, text: string) => Promise<void>;
  logger: Logger;
  /** When each account last warned that its pending list is full (the warning is throttled). */
  fullWarnings: Map<string, number>;
  now?: () => number;
}

/** What the pairing stage did with a stranger's DM. */
export type PairingAnswer = "code-sent" | "reminded" | "rate-limited" | "full";

/**
 * A stranger's DM on an account with `dm_policy: pairing`: they are given a code (or reminded of their live
 * one) that the owner approves with `switchboard pairing approve <code>` or `/pair approve <code>`. Replies
 * are rate-limited per user, and an account with `pairing.max_pending` live codes gives no more.
 */
export async function answerStranger(
  deps: PairingStageDeps,
  inbound: InboundMessage,
): Promise<PairingAnswer> {
  const settings = pairingSettings(accountConfig(deps.accounts(), inbound));
  const now = deps.now?.() ?? Date.now();
  const { platform, account, user } = inbound;
  const ttlMs = settings.code_ttl_minutes * 60_000;
  let result: Awaited<ReturnType<typeof deps.store.pairing.request>> | undefined;
  for (let attempt = 1; !result; attempt++) {
    try {
      result = await deps.store.pairing.request({
        platform,
        account,
        userId: user.id,
        userName: user.name,
        chatId: inbound.chat.id,
        code: newPairingCode(),
        ttlMs,
        maxPending: settings.max_pending,
        now,
      });
    } catch (err) {
      if (attempt >= CODE_ATTEMPTS) throw err;
    }
  }
  if (result.status === "full") {
    // A flood is said once a minute per account, not once per message.
    const key = `${platform}/${account}`;
    if ((deps.fullWarnings.get(key) ?? 0) + FULL_WARNING_EVERY_MS <= now) {
      deps.fullWarnings.set(key, now);
      deps.logger.warn(
        { platform, account, userId: user.id, pending: result.pending },
        `a stranger asked to pair but ${platform}/${account} already holds ${result.pending} pending codes (platforms.${platform}.pairing.max_pending): answer some with switchboard pairing list|approve|deny`,
      );
    }
    return "full";
  }
  // Only users who hold a code take a rate token, so a flood past the bound leaves nothing behind.
  const bucket = `pairing:${platform}:${account}:${user.id}`;
  const perHour = settings.per_user_per_hour;
  if ((await deps.store.rates.take(bucket, perHour, perHour / HOUR_MS, now)) > 0) return "rate-limited";
  const { request } = result;
  deps.logger.info(
    { platform, account, userId: user.id, code: request.code },
    `a stranger asked to pair: switchboard pairing approve ${request.code}`,
  );
  await deps.send(inbound, pairingMessage(request, result.status === "existing", now));
  return result.status === "created" ? "code-sent" : "reminded";
}

function pairingMessage(request: PairingRequest, reminder: boolean, now: number): string {
  const minutes = Math.max(1, Math.ceil((request.expiresAt - now) / 60_000));
  const head = reminder
    ? `Your pairing code ${request.code} is still waiting for the owner's approval.`
    : `I don't know you yet. Your pairing code is ${request.code}.`;
  return [
    head,
    `The owner of this bot must approve it (switchboard pairing approve ${request.code}, or /pair approve ${request.code} in a chat with the bot). It expires in ${minutes} min.`,
  ].join("\n");
}

/** How the gateway sends a pairing reply: plain text, to the DM it came from. */
export function pairingSender(
  sendText: (address: ReturnType<typeof replyAddress>, text: string) => Promise<void>,
  logger: Logger,
): (inbound: InboundMessage, text: string) => Promise<void> {
  return (inbound, text) =>
    sendText(replyAddress(inbound), text).catch((err: unknown) =>
      logger.error({ err, platform: inbound.platform }, "could not send the pairing code"),
    );
}
