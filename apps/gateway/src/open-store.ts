import { existsSync } from "node:fs";
import { join } from "node:path";
import { type GatewayConfig, type Logger, openSessionStore, type SessionStore } from "@switchboard/core";
import { loadPostgresStore } from "./store-postgres.ts";

/** The SQLite store's file in a home. */
export const sqliteFile = (config: GatewayConfig) => join(config.home, "state.db");

/**
 * The store `store.kind` names: `<root>/state.db` (SQLite), or the PostgreSQL database at `store.url`, whose
 * package is imported here and only here, so a SQLite gateway never loads it.
 */
export async function openConfiguredStore(
  config: GatewayConfig,
  options: { logger?: Logger } = {},
): Promise<SessionStore> {
  if (config.store.kind === "postgres") {
    const { openPostgresStore } = await loadPostgresStore();
    const logger = options.logger;
    return openPostgresStore(config.store.url!, {
      pool: config.store.pool,
      onError: (err) =>
        logger?.warn(
          { err },
          `store: an idle PostgreSQL connection failed (${err.message}); the pool replaces it`,
        ),
    });
  }
  return openSessionStore(sqliteFile(config));
}

/**
 * Why a CLI that only reads has no store to open, if it has none: a SQLite home that never ran a gateway.
 * A PostgreSQL store is always there to ask (its errors say what is wrong with the URL).
 */
export function missingStore(config: GatewayConfig): string | undefined {
  if (config.store.kind === "postgres") return undefined;
  if (!existsSync(config.home))
    return `the home ${config.home} does not exist: no gateway has run there (set --home or $SWITCHBOARD_HOME)`;
  const file = sqliteFile(config);
  if (!existsSync(file))
    return `no sessions yet: ${file} does not exist (it is created when the gateway first runs)`;
  return undefined;
}
