import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";

/** The environment variable naming an existing server for the tests (then none is started). */
export const TEST_PG_URL_ENV = "SWITCHBOARD_TEST_PG_URL";
/** The environment variable naming the folder of `initdb`, `pg_ctl` and `postgres`, when not found by search. */
export const PG_BIN_ENV = "SWITCHBOARD_PG_BIN";

/** What to install when no PostgreSQL server binaries can be found (the error says it word for word). */
export const POSTGRES_INSTALL_HINT =
  "install the PostgreSQL server: `apt-get update && apt-get install -y postgresql` on Debian/Ubuntu " +
  "(`brew install postgresql` on macOS), or set SWITCHBOARD_PG_BIN to the folder holding initdb, pg_ctl and postgres, " +
  "or set SWITCHBOARD_TEST_PG_URL=postgres://user:pass@host:5432/postgres to a server where that user may create databases";

/** A running throwaway server (see `startPostgres`). */
export interface TestPostgres {
  /** The admin URL (database `postgres`, superuser `postgres`, no password, 127.0.0.1). */
  url: string;
  port: number;
  /** Stop the server and remove its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Keep the server's durability settings (fsync, synchronous commit). Tests turn them off for speed; a
   * benchmark keeps them so its figures mean what they say.
   */
  durable?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return dir;
  }
  return undefined;
}

/**
 * The folder holding `initdb`, `pg_ctl` and `postgres`: `$SWITCHBOARD_PG_BIN`, else the `PATH`, else Debian's
 * `/usr/lib/postgresql/<version>/bin` (newest first), else Homebrew's. Throws with what to install.
 */
export function findPostgresBin(
  options: { env?: NodeJS.ProcessEnv; debianRoot?: string; fallbacks?: readonly string[] } = {},
): string {
  const env = options.env ?? process.env;
  const candidates: string[] = [];
  const fromEnv = env[PG_BIN_ENV];
  if (fromEnv) candidates.push(fromEnv);
  const path = onPath("initdb", env);
  if (path) candidates.push(path);
  const debian = options.debianRoot ?? "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debian, v, "bin"));
  }
  candidates.push(...(options.fallbacks ?? ["/opt/homebrew/bin", "/usr/local/opt/postgresql/bin"]));
  for (const dir of candidates) {
    if (["initdb", "pg_ctl", "postgres"].every((b) => existsSync(join(dir, b)))) return dir;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found${fromEnv ? ` in ${PG_BIN_ENV}=${fromEnv}` : ""}: ${POSTGRES_INSTALL_HINT}`,
  );
}

interface RunAs {
  /** Prefix for the command line: `runuser -u postgres --` when we are root (initdb refuses root). */
  prefix: string[];
  uid: number | undefined;
  gid: number | undefined;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { prefix: [], uid: undefined, gid: undefined };
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const u = id("-u");
  const g = id("-g");
  if (u.status !== 0 || g.status !== 0) {
    throw new Error(
      "the tests run as root, and PostgreSQL refuses to run as root, but there is no `postgres` user to run it as: " +
        `${POSTGRES_INSTALL_HINT} (the Debian package creates that user), or run the tests as another user`,
    );
  }
  // `runuser` lives in sbin, which a non-login root shell (CI, `env PATH=…`) may not have on its PATH.
  const dir =
    onPath("runuser", process.env) ??
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].find((d) => existsSync(join(d, "runuser")));
  if (!dir)
    throw new Error(
      "the tests run as root and need `runuser` (util-linux) to start PostgreSQL as the postgres user",
    );
  return {
    prefix: [join(dir, "runuser"), "-u", "postgres", "--"],
    uid: Number(u.stdout),
    gid: Number(g.stdout),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function run(argv: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolve once `pid` is gone (at most `timeoutMs`, then it is killed). */
async function exitOf(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait until the server accepts a query, at most `timeoutMs`. */
export async function waitForPostgres(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new Error(`PostgreSQL at ${url} did not accept connections within ${timeoutMs} ms`, { cause: last });
}

/**
 * Start a throwaway PostgreSQL server: `initdb` in a fresh temporary folder and `postgres` on a free
 * 127.0.0.1 port, trusting local connections. As root, both run as the `postgres` user. `stop()` shuts it
 * down (fast mode), waits for it to exit and removes the folder; a process that exits or is killed without
 * calling it still takes the server down.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const as = runAs();
  // As root the server runs as `postgres`, which must reach the folder: a TMPDIR inside /root would not do.
  const dir = mkdtempSync(join(as.uid !== undefined ? "/tmp" : tmpdir(), "sb-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (as.uid !== undefined) chownSync(dir, as.uid, as.gid!);
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });

  const init = await run(
    [
      ...as.prefix,
      join(bin, "initdb"),
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      // A UTF-8 character class, so the trigram index sees CJK characters as letters.
      "--locale=C.UTF-8",
      "--no-sync",
    ],
    120_000,
  );
  if (init.code !== 0) {
    cleanupDir();
    throw new Error(`initdb failed (exit ${init.code}):\n${init.output.trim()}`);
  }

  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    max_connections: 200,
    ...(options.durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  let port = 0;
  let started = false;
  let lastOutput = "";
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    const opts = Object.entries({ ...settings, port })
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(" ");
    const r = await run(
      [...as.prefix, join(bin, "pg_ctl"), "-D", data, "-l", log, "-o", opts, "-w", "start"],
      90_000,
    );
    started = r.code === 0;
    lastOutput = `${r.output.trim()}\n${tail(log)}`;
  }
  if (!started) {
    cleanupDir();
    throw new Error(`PostgreSQL did not start:\n${lastOutput}`);
  }

  const pid = postmasterPid(data);
  if (pid === undefined) {
    cleanupDir();
    throw new Error(`PostgreSQL started but wrote no postmaster.pid in ${data}:\n${tail(log)}`);
  }
  let stopped = false;
  // However the test process ends, the server ends with it. An exit without the teardown (an uncaught
  // error, process.exit): the exit hook. Killed outright (SIGKILL, a CI timeout): a detached watchdog that
  // waits for this process to be gone. SIGQUIT is PostgreSQL's immediate shutdown; as root we may signal
  // the postgres user's process.
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -QUIT ${pid} 2>/dev/null; sleep 2; rm -rf '${dir}'`,
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  const onExit = () => {
    if (stopped) return;
    try {
      process.kill(pid, "SIGQUIT");
    } catch {}
  };
  process.once("exit", onExit);

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (stopped) return;
    try {
      // Fast shutdown: clients are disconnected, nothing is flushed that a throwaway server needs.
      process.kill(pid, "SIGINT");
    } catch {}
    await exitOf(pid, 20_000);
    stopped = true;
    process.off("exit", onExit);
    try {
      if (watchdog.pid) process.kill(watchdog.pid);
    } catch {}
    cleanupDir();
  };
  try {
    await waitForPostgres(url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, stop };
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** A database of its own for one test file (see `createTestDatabase`). */
export interface TestDatabase {
  url: string;
  name: string;
  /** Drop it (closing whatever connections are still open to it). */
  drop(): Promise<void>;
}

/**
 * Create a database on the server at `adminUrl`, named `sb_test_<random>` unless given: empty, or a copy of
 * `template` (a database nobody is connected to), which is much faster than migrating each one.
 */
export async function createDatabase(
  adminUrl: string,
  options: { name?: string; template?: string } = {},
): Promise<TestDatabase> {
  const db = options.name ?? `sb_test_${randomBytes(6).toString("hex")}`;
  for (const n of [db, options.template ?? db])
    if (!/^[a-z_][a-z0-9_]*$/.test(n)) throw new Error(`not a plain database name: ${n}`);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db}${options.template ? ` TEMPLATE ${options.template}` : ""}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, db),
    name: db,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
