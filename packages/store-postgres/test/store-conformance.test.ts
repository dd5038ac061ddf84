import { runStoreConformance } from "@switchboard/testing";
import { afterAll } from "vitest";
import { dropTemplate } from "./postgres-backend.ts";

// The same cases as SQLite's (packages/testing/test/store-conformance.test.ts), against a real server.
afterAll(dropTemplate);
runStoreConformance("postgres", {
  module: new URL("./postgres-backend.ts", import.meta.url).href,
  exportName: "postgresStoreBackend",
});
