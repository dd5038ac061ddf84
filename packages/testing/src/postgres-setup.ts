import type { TestProject } from "vitest/node";
import { startPostgres, TEST_PG_URL_ENV, type TestPostgres, waitForPostgres } from "./postgres.ts";

declare module "vitest" {
  interface ProvidedContext {
    /** The admin URL of the PostgreSQL server the tests of this project share. */
    switchboardPostgresUrl: string;
  }
}

let server: TestPostgres | undefined;

/**
 * Vitest `globalSetup` for the projects whose tests need PostgreSQL: uses `$SWITCHBOARD_TEST_PG_URL` when set,
 * else starts a throwaway server (`startPostgres`) for the run and stops it at the end. Each test file then
 * takes a database of its own with `createTestDatabase()`.
 */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env[TEST_PG_URL_ENV];
  if (given) {
    await waitForPostgres(given, 10_000);
    project.provide("switchboardPostgresUrl", given);
    return;
  }
  server = await startPostgres();
  project.provide("switchboardPostgresUrl", server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  server = undefined;
}
