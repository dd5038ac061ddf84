import { randomBytes } from "node:crypto";
import type { ResetPolicy } from "../config/schema.ts";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `YYYYMMDD_HHMMSS_<8 hex>` in local time, the upstream session id format. */
export function newSessionId(now: number): string {
  const d = new Date(now);
  const date = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `${date}_${time}_${randomBytes(4).toString("hex")}`;
}

/** The most recent daily reset boundary at or before `now`: today at `atHour` local time, else yesterday's. */
export function lastDailyBoundary(now: number, atHour: number): number {
  const d = new Date(now);
  const boundary = new Date(d.getFullYear(), d.getMonth(), d.getDate(), atHour, 0, 0, 0);
  if (boundary.getTime() > now) boundary.setDate(boundary.getDate() - 1);
  return boundary.getTime();
}

/** Why the reset policy ends a session last active at `updatedAt`, or `undefined` when it lives on. */
export function resetReason(
  policy: ResetPolicy | undefined,
  updatedAt: number,
  now: number,
): "idle" | "daily" | undefined {
  if (!policy || policy.mode === "none") return undefined;
  if ((policy.mode === "idle" || policy.mode === "both") && now > updatedAt + policy.idle_minutes * 60_000)
    return "idle";
  if (
    (policy.mode === "daily" || policy.mode === "both") &&
    updatedAt < lastDailyBoundary(now, policy.at_hour)
  )
    return "daily";
  return undefined;
}

/** The agent id of a session key `agent:<id>:...`. */
export function agentFromKey(sessionKey: string): string | undefined {
  const m = /^agent:([^:]+):/.exec(sessionKey);
  return m?.[1];
}
