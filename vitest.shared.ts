import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const CONDITIONS = ["@switchboard/source", "module", "node", "development|production"];

/** Starts (or, with `SWITCHBOARD_TEST_PG_URL`, reuses) one PostgreSQL server for a project's run. */
const POSTGRES_SETUP = fileURLToPath(new URL("./packages/testing/src/postgres-setup.ts", import.meta.url));

export interface PackageProjectOptions {
  /** The project's tests use PostgreSQL (`createTestDatabase()` from `@switchboard/testing`). */
  postgres?: boolean;
}

/** The vitest project config every package uses: workspace packages resolve to their TypeScript source. */
export function packageProject(name: string, options: PackageProjectOptions = {}) {
  return defineProject({
    resolve: { conditions: CONDITIONS },
    ssr: { resolve: { conditions: CONDITIONS, externalConditions: ["@switchboard/source"] } },
    test: {
      name,
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      environment: "node",
      // Two test files at a time, also on a 2-core machine (vitest's default there is one): most tests wait on
      // child processes, sockets and timers rather than the CPU, and the suite takes ~5 instead of ~10 minutes.
      // Per project: a project resolves its own (the root config's does not reach it).
      maxWorkers: 2,
      testTimeout: 20_000,
      hookTimeout: 20_000,
      ...(options.postgres ? { globalSetup: [POSTGRES_SETUP] } : {}),
    },
  });
}
