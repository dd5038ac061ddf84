import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cli, type RunningCli, startCli } from "./cli-helpers.ts";

const homes: string[] = [];
const running: RunningCli[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.kill("SIGKILL");
    await r.exited;
  }
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
function newHome(config?: string): string {
  const home = mkdtempSync(join(tmpdir(), "sb-operator-"));
  homes.push(home);
  if (config !== undefined) writeFileSync(join(home, "config.yaml"), config);
  return home;
}
const STACK = /\n\s+at .+:\d+:\d+/;

describe("config check", () => {
  it("warns when an agent's provider key cannot be found in its own scope", () => {
    const home = newHome(
      "agents:\n  main: { model: { provider: openai } }\n  ops: { model: { provider: openai } }\n",
    );
    writeFileSync(join(home, ".env"), "OPENAI_API_KEY=sk-main\n");
    const r = cli(["config", "check", "--home", home], { OPENAI_API_KEY: "" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('warning: agent ops: provider "openai" needs OPENAI_API_KEY');
    expect(r.stdout).toContain(join(home, "agents", "ops", ".env"));
    expect(r.stdout).not.toContain("agent main:");
  });

  it("--home pointing at a missing folder is an error, not a check of the defaults", () => {
    const missing = join(newHome(), "nope");
    for (const args of [["config", "check"], ["agent", "list"], ["run"]]) {
      const r = cli([...args, "--home", missing]);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr).toContain(`--home ${missing} does not exist`);
    }
    expect(existsSync(missing)).toBe(false);
  });
});

describe("sessions on a home without a usable database", () => {
  it("says so for a missing home and creates nothing", () => {
    const missing = join(newHome(), "never-ran");
    const r = cli(["sessions", "list"], { SWITCHBOARD_HOME: missing });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the home ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it("says so for a home where no gateway ran yet", () => {
    const home = newHome("agents: { main: {} }\n");
    const r = cli(["sessions", "list", "--home", home]);
    expect(r.stderr).toContain("no sessions yet");
    expect(existsSync(join(home, "state.db"))).toBe(false);
  });

  it("prints an error, not a stack trace, for a corrupt database", () => {
    const home = newHome("agents: { main: {} }\n");
    writeFileSync(join(home, "state.db"), "this is not sqlite at all, just text".repeat(200));
    const r = cli(["sessions", "list", "--home", home]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^error: cannot open the session store .*state\.db: file is not a database/);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe("one gateway per home", () => {
  it("a second gateway on the same home refuses to start; the lock is released on exit", async () => {
    const home = newHome("api_server: { port: 0 }\n");
    const first = startCli(["run", "--home", home]);
    running.push(first);
    await first.waitForLog((l) => String(l.msg).startsWith("listening"));
    const lock = JSON.parse(readFileSync(join(home, "gateway.lock"), "utf8")) as { pid: number };
    expect(lock.pid).toBe(first.child.pid);

    const second = cli(["run", "--home", home]);
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(`another gateway (pid ${first.child.pid}`);
    expect(second.stderr).toContain(`is already running on ${home}`);
    expect(second.stderr).not.toMatch(STACK);

    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(existsSync(join(home, "gateway.lock"))).toBe(false);
  });

  it("takes over a stale lock whose process is gone", async () => {
    const home = newHome("api_server: { port: 0 }\n");
    const { hostname } = await import("node:os");
    // A pid that is not running: the lock of a gateway killed with -9.
    writeFileSync(
      join(home, "gateway.lock"),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: "x" }),
    );
    const gw = startCli(["run", "--home", home]);
    running.push(gw);
    await gw.waitForLog((l) => String(l.msg).startsWith("listening"));
    expect(JSON.parse(readFileSync(join(home, "gateway.lock"), "utf8")).pid).toBe(gw.child.pid);
  });
});
