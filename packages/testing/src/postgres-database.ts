import { inject } from "vitest";
import { createDatabase, type TestDatabase } from "./postgres.ts";
import "./postgres-setup.ts";

/**
 * A fresh database on the project's PostgreSQL server (started by `postgres-setup.ts`, the project's
 * `globalSetup`). Call it in `beforeAll` and `drop()` it in `afterAll`.
 */
export function createTestDatabase(options: { template?: string } = {}): Promise<TestDatabase> {
  const url = inject("switchboardPostgresUrl");
  if (!url) {
    throw new Error(
      "no PostgreSQL server for this test project: add `postgres: true` to its packageProject() in vitest.config.ts",
    );
  }
  return createDatabase(url, options);
}
