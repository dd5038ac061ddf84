import type { StoreBackend, TestDatabase } from "@switchboard/testing";
import { openPostgresStore } from "../src/store.ts";

const databases = new Map<string, TestDatabase>();
let template: Promise<TestDatabase> | undefined;

/** A database migrated once, that every store's database is copied from (faster than migrating each). */
function migratedTemplate(): Promise<TestDatabase> {
  template ??= (async () => {
    const { createTestDatabase } = await import("@switchboard/testing");
    const db = await createTestDatabase();
    await (await openPostgresStore(db.url, { pool: 1 })).close();
    return db;
  })();
  return template;
}

/**
 * The PostgreSQL backend of the store conformance suite: each store gets a fresh database on the test run's
 * server. The child process the suite starts only calls `open`, so vitest is imported lazily, by `create`.
 */
export const postgresStoreBackend: StoreBackend = {
  async create() {
    const { createTestDatabase } = await import("@switchboard/testing");
    const db = await createTestDatabase({ template: (await migratedTemplate()).name });
    databases.set(db.url, db);
    return db.url;
  },
  async open(location, options = {}) {
    return openPostgresStore(location, { pool: 4, ...(options.now ? { now: options.now } : {}) });
  },
  async destroy(location) {
    await databases.get(location)?.drop();
    databases.delete(location);
  },
};

/** Drop the template (in the test file's `afterAll`). */
export async function dropTemplate(): Promise<void> {
  const t = await template;
  template = undefined;
  await t?.drop();
}
