import { installCommand } from "./platforms.ts";

export const POSTGRES_STORE_PACKAGE = "@switchboard/store-postgres";

type PostgresStoreModule = typeof import("@switchboard/store-postgres");
let loaded: Promise<PostgresStoreModule> | undefined;

/**
 * The PostgreSQL store package, imported on first use only: a gateway on SQLite never loads it (nor `pg`).
 * Missing, the error says how to install it.
 */
export function loadPostgresStore(): Promise<PostgresStoreModule> {
  loaded ??= import(POSTGRES_STORE_PACKAGE).catch((err: unknown) => {
    loaded = undefined;
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes(POSTGRES_STORE_PACKAGE)) {
      throw new Error(
        `store.kind is postgres but ${POSTGRES_STORE_PACKAGE} is not installed: run \`${installCommand(POSTGRES_STORE_PACKAGE)}\`, or set store.kind: sqlite`,
        { cause: err },
      );
    }
    throw err;
  }) as Promise<PostgresStoreModule>;
  return loaded;
}
