import { defineConfig } from "vitest/config";
import { PlainSummaryReporter } from "./vitest.summary.ts";

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    pool: "forks",
    // Room for the global teardowns that stop a project's PostgreSQL server on a loaded machine.
    teardownTimeout: 30_000,
    reporters: ["default", new PlainSummaryReporter()],
  },
});
