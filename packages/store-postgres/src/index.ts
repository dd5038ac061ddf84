export * from "./copy-from-sqlite.ts";
export * from "./dedupe.ts";
export * from "./migrations.ts";
export { createPool, describeUrl, type Pool, transaction } from "./pool.ts";
export * from "./store.ts";
