import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const BIN = join(ROOT, "apps", "gateway", "bin", "switchboard.js");
const dirs: string[] = [];
const children: Array<{ pid: number }> = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "sb-bin-"));
  dirs.push(d);
  return d;
}
const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...extra };
  // The test runner itself runs under a package-manager script; the children must not inherit that.
  delete e.npm_lifecycle_event;
  return e as NodeJS.ProcessEnv;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the switchboard bin", () => {
  it("runs from the workspace without a build", () => {
    const r = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8", env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).toBe("");
  });

  it("init prints commands that work as printed: on PATH, through node, and through the workspace script", () => {
    const pathDir = join(tmp(), "bin");
    mkdirSync(pathDir);
    symlinkSync(BIN, join(pathDir, "switchboard"));
    const cases: Array<{ cmd: string[]; env: NodeJS.ProcessEnv; expect: RegExp; cwd?: string }> = [
      {
        cmd: ["pnpm", "-s", "switchboard"],
        env: env(),
        expect: /^ {2}pnpm switchboard config check/m,
        cwd: ROOT,
      },
      {
        cmd: ["switchboard"],
        env: env({ PATH: `${pathDir}:${process.env.PATH}` }),
        expect: /^ {2}switchboard config check/m,
      },
      { cmd: [process.execPath, BIN], env: env(), expect: /^ {2}node \S+switchboard\.js config check/m },
    ];
    for (const c of cases) {
      const home = join(tmp(), "home with space");
      const init = spawnSync(c.cmd[0]!, [...c.cmd.slice(1), "init", "--home", home], {
        encoding: "utf8",
        env: c.env,
      });
      expect(init.status, init.stderr).toBe(0);
      expect(init.stdout).toMatch(c.expect);
      const check = init.stdout
        .split("\n")
        .find((l) => l.includes(" config check"))!
        .trim();
      const r = spawnSync("sh", ["-c", check], { encoding: "utf8", env: c.env, cwd: c.cwd ?? tmpdir() });
      expect(r.status, `${check}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`ok: ${join(home, "config.yaml")}`);
      const run = init.stdout
        .split("\n")
        .find((l) => l.includes(" run"))!
        .trim();
      expect(run).toBe(check.replace(" config check", " run"));
    }
  }, 60_000);

  it("a gateway started with `pnpm start` exits when pnpm is killed", async () => {
    const home = tmp();
    writeFileSync(join(home, "config.yaml"), "api_server: { port: 0 }\n");
    const pnpm = spawn("pnpm", ["start", "--home", home], { cwd: ROOT, env: env(), stdio: "ignore" });
    children.push({ pid: pnpm.pid! });
    const lock = join(home, "gateway.lock");
    await until(() => existsSync(lock), 15_000, "the gateway to start");
    const gateway = (JSON.parse(readFileSync(lock, "utf8")) as { pid: number }).pid;
    children.push({ pid: gateway });
    expect(gateway).not.toBe(pnpm.pid);
    pnpm.kill("SIGTERM");
    await until(() => !alive(gateway), 10_000, "the gateway to exit after pnpm was killed");
    // It shut down cleanly: the lock was released.
    expect(existsSync(lock)).toBe(false);
  }, 30_000);

  it("`run` re-executes itself once, same pid, with a capped young generation and glibc returning large blocks", async () => {
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const start = async (extra: Record<string, string>) => {
      const home = tmp();
      writeFileSync(join(home, "config.yaml"), "api_server: { port: 0 }\n");
      const child = spawn(process.execPath, [BIN, "run", "--home", home], {
        env: env(extra),
        stdio: "ignore",
      });
      children.push({ pid: child.pid! });
      const lock = join(home, "gateway.lock");
      await until(() => existsSync(lock), 15_000, "the gateway to start");
      const pid = (JSON.parse(readFileSync(lock, "utf8")) as { pid: number }).pid;
      return { child, pid };
    };
    const tuned = await start({});
    // execve: the process that was started is the gateway (signals, pid files, `kill $!` keep working).
    expect(tuned.pid).toBe(tuned.child.pid);
    expect(cmdline(tuned.pid)).toContain("--max-semi-space-size=8");
    expect(environ(tuned.pid)).toContain("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=8192");
    const off = await start({ SWITCHBOARD_RUNTIME_TUNING: "off" });
    expect(cmdline(off.pid).some((a) => a.startsWith("--max-semi-space-size"))).toBe(false);
    // The operator's own choice wins.
    const own = await start({ NODE_OPTIONS: "--max-semi-space-size=32" });
    expect(cmdline(own.pid).some((a) => a.startsWith("--max-semi-space-size"))).toBe(false);
    expect(environ(own.pid)).toContain("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=8192");
    for (const g of [tuned, off, own]) g.child.kill("SIGTERM");
    await until(() => ![tuned, off, own].some((g) => alive(g.pid)), 10_000, "the gateways to stop");
  }, 60_000);
});
