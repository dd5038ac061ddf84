import { AgentError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Lanes } from "./lanes.ts";

/** After a shutdown aborts the turns still running, how long they get to end properly. */
export const SHUTDOWN_GRACE_MS = 2000;

/**
 * Wait (bounded) until no turn is queued or running; past the timeout, abort the turns still running with
 * a reason the user reads, and give them a short grace to store what they have and send a last event.
 */
export async function drainTurns(deps: {
  lanes: Lanes;
  running: ReadonlySet<AbortController>;
  logger: Logger;
  timeoutMs: number;
  graceMs?: number;
}): Promise<void> {
  const { lanes, timeoutMs } = deps;
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    lanes.idle().then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (drained) return;
  deps.logger.warn({ timeoutMs }, "shutdown timeout: aborting turns still running");
  const reason = new AgentError(
    "shutting_down",
    "The gateway is shutting down, so this reply was cut off; send the message again in a moment.",
  );
  for (const c of deps.running) c.abort(reason);
  // Give the aborted turns a moment to store what they have and send their last event (the
  // error chunk and `[DONE]` of a stream), so no client is cut off without a word.
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    lanes.idle(),
    new Promise<void>((r) => {
      grace = setTimeout(r, deps.graceMs ?? SHUTDOWN_GRACE_MS);
    }),
  ]);
  clearTimeout(grace);
}
