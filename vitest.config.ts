import { defineConfig } from "vitest/config";
import { PlainSummaryReporter } from "./vitest.summary.ts";

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    pool: "forks",
    // Two test files at a time, also on a 2-core machine (vitest's default there is one): most tests wait on
    // child processes, sockets and timers rather than the CPU, and the suite takes ~5 instead of ~10 minutes.
    maxWorkers: 2,
    // Room for the global teardowns that stop a project's PostgreSQL server on a loaded machine.
    teardownTimeout: 30_000,
    reporters: ["default", new PlainSummaryReporter()],
  },
});
