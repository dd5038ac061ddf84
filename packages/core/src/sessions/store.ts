/** The session store's opener (SQLite) and the backend-neutral rules every backend shares. */
export * from "./reset.ts";
export {
  ftsQuery,
  openSessionStore,
  type SessionStoreOptions,
  type SqliteSessionStore,
  sqliteDatabase,
} from "./sqlite/store.ts";
