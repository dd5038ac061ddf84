import { defineProject } from "vitest/config";

const CONDITIONS = ["@switchboard/source", "module", "node", "development|production"];

/** The vitest project config every package uses: workspace packages resolve to their TypeScript source. */
export function packageProject(name: string) {
  return defineProject({
    resolve: { conditions: CONDITIONS },
    ssr: { resolve: { conditions: CONDITIONS, externalConditions: ["@switchboard/source"] } },
    test: {
      name,
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      environment: "node",
      testTimeout: 20_000,
      hookTimeout: 20_000,
    },
  });
}
