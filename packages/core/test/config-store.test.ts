import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";
import { registerConfigSecrets, SecretValues, secretValues } from "../src/redact.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "sb-config-store-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const load = (yaml: string, env: Record<string, string> = {}) => {
  writeFileSync(join(home, "config.yaml"), yaml);
  return loadConfig({ home, env });
};
const issues = async (yaml: string) => {
  try {
    await load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
};

describe("store config", () => {
  it("defaults to SQLite in the root home, with a pool of 10", async () => {
    const config = await load("agents: { main: {} }\n");
    expect(config.store).toEqual({ kind: "sqlite", pool: 10, lease_s: 10 });
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
  it("reads a PostgreSQL URL through ${DATABASE_URL} from .env, and a pool size", async () => {
    writeFileSync(
      join(home, ".env"),
      "DATABASE_URL=postgres://sb:s3cret-pass@db.internal:5432/switchboard\n",
    );
    const config = await load(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
      'store:\n  kind: postgres\n  url: "${DATABASE_URL}"\n  pool: "${DB_POOL:-25}"\n',
    );
    expect(config.store).toEqual({
      kind: "postgres",
      url: "postgres://sb:s3cret-pass@db.internal:5432/switchboard",
      pool: 25,
      lease_s: 10,
    });
  });

  it("names the path of a missing or misplaced url and of a bad pool", async () => {
    expect(await issues("store: { kind: postgres }\n")).toEqual([
      expect.stringMatching(/^store\.url: is required with kind: postgres: set it to the database URL/),
    ]);
    expect(await issues("store: { url: 'postgres://h/db' }\n")).toEqual([
      expect.stringMatching(/^store\.url: is only read with kind: postgres/),
    ]);
    expect(await issues("store: { kind: postgres, url: 'mysql://h/db' }\n")).toEqual([
      expect.stringMatching(/^store\.url: must be a PostgreSQL URL/),
    ]);
    expect(await issues("store: { kind: postgres, url: 'postgres://h/db', pool: 0 }\n")).toEqual([
      expect.stringMatching(/^store\.pool: /),
    ]);
    expect(await issues("store: { kind: mysql }\n")).toEqual([expect.stringMatching(/^store\.kind: /)]);
  });

  it("keeps the URL's password out of the logs", () => {
    const before = new SecretValues();
    expect(before.redact("p4ss-w0rd!")).toBe("p4ss-w0rd!");
    registerConfigSecrets({ store: { url: "postgres://sb:p4ss-w0rd%21@db:5432/x" } });
    expect(secretValues.redact("auth failed for p4ss-w0rd! at postgres://sb:p4ss-w0rd%21@db:5432/x")).toBe(
      "auth failed for [redacted] at [redacted]",
    );
  });
});
