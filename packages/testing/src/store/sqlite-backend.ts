import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openSessionStore } from "@switchboard/core";
import type { StoreBackend } from "./backend.ts";

/** The SQLite backend for the store conformance suite: a `state.db` in a fresh temp dir. */
export const sqliteStoreBackend: StoreBackend = {
  async create() {
    return join(mkdtempSync(join(tmpdir(), "sb-store-conf-")), "state.db");
  },
  async open(location, options = {}) {
    return openSessionStore(location, options.now ? { now: options.now } : {});
  },
  async destroy(location) {
    rmSync(dirname(location), { recursive: true, force: true });
  },
};
