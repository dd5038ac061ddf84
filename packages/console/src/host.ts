import type { ApiServerConfig, Gateway, Logger } from "@switchboard/core";

/**
 * What the console needs from the listener that mounts it (the API server's `ConsoleHost`, which this
 * package does not import: the API server hands it over, so dependencies point one way).
 */
export interface ConsoleHost {
  gateway: Gateway;
  logger: Logger;
  settings(): ApiServerConfig;
  /** No `api_server.keys` (loopback only): everyone who reaches the listener is admin. */
  open(): boolean;
  /** The identity of a key value, or `undefined` when no configured key has it. */
  identify(key: string): { id: string; name?: string; admin: boolean } | undefined;
  /** Whether `id` is still a configured admin key. */
  isAdmin(id: string): boolean;
  /** Send a request to the API as the key `id` (the chat view's `/v1/chat/completions`). */
  api(request: Request, id: string): Promise<Response>;
}

/** The console's handler as the API server mounts it. */
export interface ConsoleHandler {
  fetch(request: Request, env?: unknown): Promise<Response>;
  close(): void;
}
