import { randomBytes, timingSafeEqual } from "node:crypto";
import { requestHost } from "@switchboard/core";
import type { ConsoleHost } from "./host.ts";

/** The console's session cookie (scoped to `/console`, never sent to the API). */
export const COOKIE = "sb_console";
const TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1000;
/** The principal id of the keyless loopback console (the API server's open principal). */
export const OPEN_ID = "open";

export interface ConsoleSession {
  id: string;
  /** The API key identity (`Principal.id`), or `open`. */
  keyId: string;
  /** Who edits land as in the audit log: `console:<key name or id>`. */
  actor: string;
  /** The CSRF token every state-changing request carries (form field `csrf` or `x-csrf-token`). */
  csrf: string;
  expiresAt: number;
}

const token = () => randomBytes(32).toString("base64url");

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Logged-in admins, in memory: a restart logs everyone out, a reload that removes a key ends its sessions. */
export class SessionTable {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #host: ConsoleHost;
  readonly #now: () => number;

  constructor(host: ConsoleHost, now: () => number = Date.now) {
    this.#host = host;
    this.#now = now;
  }

  create(keyId: string, name: string | undefined): ConsoleSession {
    const now = this.#now();
    if (this.#sessions.size >= MAX_SESSIONS) {
      for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
      if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    const s: ConsoleSession = {
      id: token(),
      keyId,
      actor: `console:${name ?? keyId}`,
      csrf: token(),
      expiresAt: now + TTL_MS,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The request's live session: its cookie names one that has not expired and whose key is still admin. */
  of(request: Request): ConsoleSession | undefined {
    const id = cookieValue(request.headers.get("cookie"), COOKIE);
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const valid =
      s.expiresAt > this.#now() && (s.keyId === OPEN_ID ? this.#host.open() : this.#host.isAdmin(s.keyId));
    if (!valid) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }
}

export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request came over TLS (directly, or through a proxy that says so). */
export function overTls(request: Request): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

/** The `Set-Cookie` of a session: `HttpOnly; SameSite=Strict; Path=/console`, `Secure` over TLS. */
export function sessionCookie(request: Request, session: ConsoleSession | undefined): string {
  const value = session ? session.id : "";
  const age = session ? Math.floor(TTL_MS / 1000) : 0;
  return `${COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/console; Max-Age=${age}${overTls(request) ? "; Secure" : ""}`;
}

/**
 * A state-changing request must come from the console's own page: its `Origin` names the host it was sent
 * to (the listener already refused foreign hosts), or, without `Origin`, the browser says `same-origin`.
 */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  const host = requestHost(request);
  if (origin === null) return request.headers.get("sec-fetch-site") === "same-origin";
  return host !== null && (origin === `http://${host}` || origin === `https://${host}`);
}

/** The request carries the session's CSRF token. */
export function csrfMatches(session: ConsoleSession, presented: string | undefined | null): boolean {
  return typeof presented === "string" && equal(presented, session.csrf);
}
