import type { ApiServerConfig } from "./config/schema.ts";
import type { Gateway } from "./gateway/types.ts";
import type { Logger } from "./logger.ts";

/**
 * What the listener that mounts the console (the API server) hands it: the one contract between
 * `@switchboard/api-server` and `@switchboard/console`, which never import each other.
 */
export interface ConsoleHost {
  gateway: Gateway;
  logger: Logger;
  /** The `api_server` settings, read per request (a reload applies). */
  settings(): ApiServerConfig;
  /** No `api_server.keys` (loopback only): everyone who reaches the listener is admin. */
  open(): boolean;
  /** The identity of a key value, or `undefined` when no configured key has it. */
  identify(key: string): { id: string; name?: string; admin: boolean } | undefined;
  /** Whether `id` is (still) a configured admin key: a key removed or demoted by a reload ends its console sessions. */
  isAdmin(id: string): boolean;
  /** Send `request` to this API as the key `id` (the console's chat uses `/v1/chat/completions` like any client). */
  api(request: Request, id: string): Promise<Response>;
}

/** The console's request handler, built on the first request to `/console`. */
export interface ConsoleHandler {
  fetch(request: Request, env?: unknown): Promise<Response>;
  close(): void;
}
