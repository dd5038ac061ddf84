import type { AgentEvent } from "../runner.ts";

type ErrorEvent = Extract<AgentEvent, { type: "error" }>;

/** An absolute file path of at least two segments (`/srv/ops/.env`, `C:\agents\x`), or a `file:` URL. */
const PATH_RE = /(?:file:\/\/)?(?:[A-Za-z]:\\|\/)(?:[\w.@~+-]+[\\/])+[\w.@~+-]*/g;
const URL_RE = /\b(?:https?|wss?):\/\/[^\s'"`<>)]+/g;

/** Replace server file paths and URLs in a message meant for a user; the log keeps the original. */
export function scrubForUser(text: string): string {
  return text.replace(URL_RE, "[url]").replace(PATH_RE, "[path]");
}

/**
 * The error event as a user or API client may see it: no server paths, no internal URLs. Whatever was
 * removed stays in `detail`, which only the log reads.
 */
export function publicErrorEvent(ev: ErrorEvent): ErrorEvent {
  const message = scrubForUser(ev.message);
  if (message === ev.message) return ev;
  return { ...ev, message, detail: ev.detail ?? ev.message };
}
