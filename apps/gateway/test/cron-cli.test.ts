import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-cron-cli-"));
writeFileSync(
  join(home, "config.yaml"),
  `agents:\n  main: {}\n  ops: {}\nroutes:\n  - match: { platform: telegram, chat_id: "-100" }\n    agent: ops\n`,
);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("switchboard cron", () => {
  let id = "";

  it("adds a job to the agent's own jobs.json", () => {
    const r = cli([
      "cron",
      "add",
      "--home",
      home,
      "--agent",
      "ops",
      "--schedule",
      "every 2h",
      "--prompt",
      "check the queue",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const job = JSON.parse(r.stdout) as { id: string; agent: string; nextRunAt: number };
    id = job.id;
    expect(job.agent).toBe("ops");
    const file = JSON.parse(readFileSync(join(home, "agents", "ops", "cron", "jobs.json"), "utf8")) as {
      jobs: Array<{ id: string }>;
    };
    expect(file.jobs.map((j) => j.id)).toEqual([id]);
  });

  it("refuses an invalid schedule and a target routed to another agent", () => {
    const bad = cli([
      "cron",
      "add",
      "--home",
      home,
      "--agent",
      "ops",
      "--schedule",
      "sometime",
      "--prompt",
      "x",
    ]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("Accepted forms");
    const foreign = cli([
      "cron",
      "add",
      "--home",
      home,
      "--agent",
      "main",
      "--schedule",
      "1h",
      "--prompt",
      "x",
      "--deliver",
      "telegram:-100",
    ]);
    expect(foreign.status).not.toBe(0);
    expect(foreign.stderr).toContain('does not route to "main"');
    expect(foreign.stderr).not.toContain('"ops"');
  });

  it("lists, pauses, resumes, runs and removes by id", () => {
    const list = cli(["cron", "list", "--home", home]);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+ops\\s+every 2h`));
    expect(cli(["cron", "pause", id, "--home", home]).stdout).toContain(`paused ${id}`);
    expect(
      (JSON.parse(cli(["cron", "list", "--home", home, "--json"]).stdout) as Array<{ enabled: boolean }>)[0]!
        .enabled,
    ).toBe(false);
    expect(cli(["cron", "resume", id, "--home", home]).stdout).toContain(`resumed ${id}`);
    const run = cli(["cron", "run", id, "--home", home]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("[ops] check the queue");
    expect(run.stderr).toContain(join(home, "agents", "ops", "cron", "output", id));
    expect(cli(["cron", "remove", id, "--home", home]).stdout).toContain(`removed ${id}`);
    expect(cli(["cron", "list", "--home", home, "--json"]).stdout.trim()).toBe("[]");
  });
});

describe("switchboard cron list with a broken jobs.json", () => {
  it("reports the file and parse error, lists the other agents' jobs, and prints no stack trace", () => {
    const h = mkdtempSync(join(tmpdir(), "sb-cron-broken-"));
    try {
      writeFileSync(join(h, "config.yaml"), "agents:\n  main: {}\n  ops: {}\n  bad: {}\n");
      const add = cli([
        "cron",
        "add",
        "--home",
        h,
        "--agent",
        "ops",
        "--schedule",
        "every 2h",
        "--prompt",
        "ok job",
      ]);
      expect(add.status, add.stderr).toBe(0);
      mkdirSync(join(h, "agents", "bad", "cron"), { recursive: true });
      const file = join(h, "agents", "bad", "cron", "jobs.json");
      writeFileSync(file, '{"version": 1, "jobs": [');
      const r = cli(["cron", "list", "--home", h]);
      expect(r.stderr).toContain(`agent bad: ${file} is not valid JSON`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toMatch(/ops\s+every 2h/);
      expect(r.status).toBe(1);
    } finally {
      rmSync(h, { recursive: true, force: true });
    }
  });
});
