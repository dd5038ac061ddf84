import type { SessionStore } from "@switchboard/core";

/**
 * What the store conformance suite needs of a backend: a fresh empty place for a store, a way to open
 * (and reopen) a store there, and cleanup. The location is a string so a child process can open the same
 * store: a SQLite file path, a PostgreSQL URL with a fresh schema.
 */
export interface StoreBackend {
  /** A new, empty place for a store. */
  create(): Promise<string>;
  /** Open the store at `location` (creating or migrating it), with an injected clock when given. */
  open(location: string, options?: { now?: () => number }): Promise<SessionStore>;
  /** Remove what `create` made (the store at it is closed). */
  destroy(location: string): Promise<void>;
}

/**
 * Where a backend is defined: a module (file URL or specifier) and the name of its `StoreBackend` export.
 * The suite imports it in the test process and in the child process that writes beside it.
 */
export interface StoreBackendRef {
  module: string;
  exportName: string;
}

/** What the suite's child process is asked to do (argv[2], JSON). */
export interface StoreChildJob {
  backend: StoreBackendRef;
  location: string;
  sessionId: string;
  count: number;
  prefix: string;
}
