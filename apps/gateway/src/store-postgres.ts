import type { SessionStore } from "@switchboard/core";
import { installCommand } from "./platforms.ts";

export const POSTGRES_STORE_PACKAGE = "@switchboard/store-postgres";

/** One table of `switchboard store migrate`'s verification. */
export interface CopiedTable {
  table: string;
  sqliteRows: number;
  postgresRows: number;
  sqliteChecksum: string;
  postgresChecksum: string;
  ok: boolean;
}

/**
 * What the gateway uses of `@switchboard/store-postgres`, spelled here so the gateway builds and installs
 * without that optional package (its own types are the same; the store tests use them directly).
 */
export interface PostgresStoreModule {
  openPostgresStore(
    url: string,
    options: { pool?: number; onError?: (err: Error) => void },
  ): Promise<SessionStore>;
  copySqliteToPostgres(
    file: string,
    url: string,
    options: {
      batchSize?: number;
      onProgress?: (p: { table: string; copied: number; total: number }) => void;
    },
  ): Promise<{ tables: CopiedTable[]; copied: number; ok: boolean }>;
  describeUrl(url: string): string;
}

let loaded: Promise<PostgresStoreModule> | undefined;

/**
 * The PostgreSQL store package, imported on first use only: a gateway on SQLite never loads it (nor `pg`).
 * Missing, the error says how to install it.
 */
export function loadPostgresStore(): Promise<PostgresStoreModule> {
  const specifier: string = POSTGRES_STORE_PACKAGE;
  loaded ??= (import(specifier) as Promise<PostgresStoreModule>).catch((err: unknown) => {
    loaded = undefined;
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes(POSTGRES_STORE_PACKAGE)) {
      throw new Error(
        `store.kind is postgres but ${POSTGRES_STORE_PACKAGE} is not installed: run \`${installCommand(POSTGRES_STORE_PACKAGE)}\`, or set store.kind: sqlite`,
        { cause: err },
      );
    }
    throw err;
  });
  return loaded;
}
