import { defineConfig } from "vitest/config";
import { PlainSummaryReporter } from "./vitest.summary.ts";

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    pool: "forks",
    reporters: ["default", new PlainSummaryReporter()],
  },
});
