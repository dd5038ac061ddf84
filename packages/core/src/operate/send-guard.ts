import { listening, publish } from "../telemetry/facts.ts";
import type { Operations } from "./operations.ts";

/** The breaker refused a send: the account is paused or its breaker is open. */
export class SendPausedError extends Error {
  override readonly name = "SendPausedError";
}

/**
 * Run one reply's sends through the account's circuit breaker, reporting the send fact. `send` gets a
 * retry counter to bump from its `onRetry`.
 */
export async function guardedSend(
  ops: Operations,
  target: { platform: string; account: string; turnId?: string | undefined; force?: boolean | undefined },
  send: (onRetry: () => void) => Promise<void>,
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
): Promise<void> {
  const { platform, account } = target;
  const breaker = ops.breaker(platform, account);
  const startedAt = Date.now();
  const t0 = performance.now();
  const report = (ok: boolean, retries: number, shortCircuited?: boolean) => {
    if (!listening("send")) return;
    publish("send", {
      ...(target.turnId ? { turnId: target.turnId } : {}),
      platform,
      account,
      ok,
      retries,
      startedAt,
      durationMs: performance.now() - t0,
      ...(shortCircuited ? { shortCircuited } : {}),
    });
  };
  if (!target.force && !breaker.allow(Date.now())) {
    report(false, 0, true);
    throw new SendPausedError(
      breaker.state === "paused"
        ? `sends to ${platform} account "${account}" are paused (/platform resume ${platform})`
        : `sends to ${platform} account "${account}" are suspended after repeated failures; retrying after ${new Date(breaker.retryAt ?? Date.now()).toISOString()}`,
    );
  }
  let retries = 0;
  try {
    await send(() => retries++);
  } catch (err) {
    report(false, retries);
    if (breaker.failure(Date.now(), (err as Error)?.message ?? String(err))) {
      log.warn(
        { platform, account, err },
        `circuit breaker opened for ${platform} account "${account}": sends paused with backoff`,
      );
      publish("adapter", {
        platform,
        account,
        state: "open",
        reason: (err as Error)?.message ?? String(err),
      });
    }
    throw err;
  }
  report(true, retries);
  if (breaker.success()) {
    log.info(
      { platform, account },
      `circuit breaker closed for ${platform} account "${account}": sends resumed`,
    );
    publish("adapter", { platform, account, state: "connected" });
  }
}
