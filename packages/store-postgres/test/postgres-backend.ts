import type { TestDatabase } from "@switchboard/testing";
import { openPostgresStore } from "../src/store.ts";

const databases = new Map<string, TestDatabase>();

/**
 * The PostgreSQL backend of the store conformance suite: each store gets a fresh database on the test run's
 * server. The child process the suite starts only calls `open`, so vitest is imported lazily, by `create`.
 */
export const postgresStoreBackend = {
  async create(): Promise<string> {
    const { createTestDatabase } = await import("@switchboard/testing");
    const db = await createTestDatabase();
    databases.set(db.url, db);
    return db.url;
  },
  async open(location: string, options: { now?: () => number } = {}) {
    return openPostgresStore(location, { pool: 4, ...(options.now ? { now: options.now } : {}) });
  },
  async destroy(location: string): Promise<void> {
    await databases.get(location)?.drop();
    databases.delete(location);
  },
};
