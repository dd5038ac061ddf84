import { runStoreConformance } from "../src/store/conformance.ts";

// The SQLite backend; a PostgreSQL one plugs in the same way, with its own module and export.
runStoreConformance("sqlite", {
  module: new URL("../src/store/sqlite-backend.ts", import.meta.url).href,
  exportName: "sqliteStoreBackend",
});
