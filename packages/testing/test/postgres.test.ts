import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase, findPostgresBin, POSTGRES_INSTALL_HINT, startPostgres } from "../src/postgres.ts";

const empty = mkdtempSync(join(tmpdir(), "sb-no-pg-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the throwaway PostgreSQL of the tests", () => {
  it("fails with what to install when no server binaries are found, instead of skipping", () => {
    mkdirSync(join(empty, "15", "bin"), { recursive: true }); // a version folder without binaries
    expect(() => findPostgresBin({ env: { PATH: empty }, debianRoot: empty, fallbacks: [] })).toThrow(
      `PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found: ${POSTGRES_INSTALL_HINT}`,
    );
    expect(POSTGRES_INSTALL_HINT).toContain("apt-get install -y postgresql");
  });

  it("starts a server on a free loopback port, gives out databases, and leaves nothing behind", async () => {
    const server = await startPostgres();
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const db = await createDatabase(server.url);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const r = await client.query("SELECT current_database() AS name, current_setting('fsync') AS fsync");
    expect(r.rows[0]).toEqual({ name: db.name, fsync: "off" });
    await client.end();
    await db.drop();
    const dataDir = await (async () => {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      const d = (await c.query("SHOW data_directory")).rows[0].data_directory as string;
      await c.end();
      return d;
    })();
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    expect(alive(pid)).toBe(true);
    await server.stop();
    expect(existsSync(dataDir)).toBe(false);
    expect(alive(pid)).toBe(false);
    await expect(new pg.Client({ connectionString: server.url }).connect()).rejects.toThrow();
  }, 60_000);

  it("stops the server of a test process killed with SIGKILL", async () => {
    const script = `
      const { startPostgres } = await import(${JSON.stringify(new URL("../src/postgres.ts", import.meta.url).href)});
      const server = await startPostgres();
      console.log(server.url);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no server: ${out}`)), 45_000);
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /postgres:\/\/\S+/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
    });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const dataDir = (await c.query("SHOW data_directory")).rows[0].data_directory as string;
    await c.end();
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    child.kill("SIGKILL");
    const deadline = Date.now() + 15_000;
    while ((alive(pid) || existsSync(dataDir)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
