import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import * as storePostgres from "@switchboard/store-postgres";
import { openPostgresStore } from "@switchboard/store-postgres";
import { createTestDatabase, type TestDatabase } from "@switchboard/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";
import { loadPostgresStore, type PostgresStoreModule } from "../src/store-postgres.ts";
import { cli } from "./cli-helpers.ts";

let db: TestDatabase;
const home = mkdtempSync(join(tmpdir(), "sb-pg-run-"));
beforeAll(async () => {
  db = await createTestDatabase();
  // The URL comes through ${DATABASE_URL} in .env, as an operator writes it.
  writeFileSync(join(home, ".env"), `DATABASE_URL=${db.url}\n`);
  writeFileSync(
    join(home, "config.yaml"),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
    'api_server: { port: 0 }\nstore:\n  kind: postgres\n  url: "${DATABASE_URL}"\n  pool: 4\n',
  );
});
afterAll(async () => {
  await db.drop();
  rmSync(home, { recursive: true, force: true });
});

const ask = async (gw: RunningGateway, text: string) => {
  const client = new OpenAI({
    baseURL: `${gw.url}/v1`,
    apiKey: "none",
    defaultHeaders: { "X-Switchboard-Session-Id": "pg-conv" },
  });
  const r = await client.chat.completions.create({
    model: "main",
    messages: [{ role: "user", content: text }],
  });
  return r.choices[0]!.message.content;
};

// The gateway spells what it uses of the optional package; the package must keep that shape (checked by tsc).
const shape: PostgresStoreModule = storePostgres;

describe("a gateway on store.kind: postgres", { timeout: 60_000 }, () => {
  it("loads the package it spells, on demand", async () => {
    expect((await loadPostgresStore()).openPostgresStore).toBe(shape.openPostgresStore);
  });

  it("keeps its sessions in PostgreSQL across a restart, and the CLI reads them there", async () => {
    let gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
    try {
      expect(await ask(gw, "remember the pears")).toContain("remember the pears");
      // Readiness writes (and rolls back) through the PostgreSQL store.
      const ready = (await (await fetch(`${gw.url}/health/ready`)).json()) as {
        status: string;
        store: { writable: boolean };
      };
      expect(ready).toMatchObject({ status: "ready", store: { writable: true } });
    } finally {
      await gw.stop();
    }
    expect(existsSync(join(home, "state.db"))).toBe(false);

    gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
    try {
      await ask(gw, "which fruit?");
      await gw.gateway.idle();
    } finally {
      await gw.stop();
    }
    const store = await openPostgresStore(db.url, { pool: 1 });
    try {
      const [session] = await store.list();
      expect(session!.sessionKey).toMatch(/:pg-conv$/);
      const history = (await store.history(session!.id)).map((m) => m.content);
      expect(history).toHaveLength(4);
      expect(history[0]).toBe("remember the pears");
      expect(history[2]).toBe("which fruit?");
    } finally {
      await store.close();
    }
    const listed = cli(["sessions", "list", "--home", home, "--json"]);
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ sessionKey: string }>)[0]!.sessionKey).toMatch(/:pg-conv$/);
  });

  it("a SQLite gateway never loads the PostgreSQL package or its driver", () => {
    const sqliteHome = mkdtempSync(join(tmpdir(), "sb-sqlite-run-"));
    try {
      writeFileSync(join(sqliteHome, "config.yaml"), "api_server: { port: 0 }\n");
      // Every module the process resolves is recorded by a resolve hook; the gateway starts and stops.
      const script = `
        import { registerHooks } from "node:module";
        const seen = [];
        registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
        const { startGateway } = await import(${JSON.stringify(new URL("../src/run.ts", import.meta.url).href)});
        const { memoryLogger } = await import("@switchboard/core");
        const gw = await startGateway({ home: ${JSON.stringify(sqliteHome)}, logger: memoryLogger(), watchConfig: false });
        await gw.stop();
        console.log(JSON.stringify(seen));`;
      const r = spawnSync(
        process.execPath,
        ["--conditions=@switchboard/source", "--input-type=module", "-e", script],
        {
          encoding: "utf8",
          cwd: import.meta.dirname,
          timeout: 60_000,
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const seen = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as string[];
      expect(seen.some((u) => u.includes("better-sqlite3"))).toBe(true);
      expect(
        seen.filter((u) =>
          /packages\/store-postgres\/|@switchboard\/store-postgres|\/node_modules\/pg\/|\/pg-pool\//.test(u),
        ),
      ).toEqual([]);
    } finally {
      rmSync(sqliteHome, { recursive: true, force: true });
    }
  });
});
