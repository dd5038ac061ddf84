import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MATCH_KEYS } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { cli } from "./cli-helpers.ts";

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
function homeWith(config: string): { home: string; file: string } {
  const home = mkdtempSync(join(tmpdir(), "sb-agent-edit-"));
  homes.push(home);
  const file = join(home, "config.yaml");
  writeFileSync(file, config);
  return { home, file };
}

const MAIN_WITH_SETTINGS = `agents:
  main:
    description: the front desk
    toolsets: [memory]
    env: { TEAM: blue }
  ops: {}
`;

describe("agent add never destroys", () => {
  it("refuses to add an agent that exists, main included, and changes nothing", () => {
    const { home, file } = homeWith(MAIN_WITH_SETTINGS);
    for (const id of ["main", "ops"]) {
      const r = cli(["agent", "add", id, "--home", home]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`agent "${id}" already exists`);
      expect(r.stderr).toContain("--force");
    }
    expect(readFileSync(file, "utf8")).toBe(MAIN_WITH_SETTINGS);
  });

  it("--force replaces the entry and shows what it replaced", () => {
    const { home, file } = homeWith(MAIN_WITH_SETTINGS);
    const r = cli(["agent", "add", "main", "--force", "--home", home]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("replaced agents.main:");
    expect(r.stdout).toContain("the front desk");
    expect(r.stdout).toContain("TEAM: blue");
    expect(readFileSync(file, "utf8")).not.toContain("front desk");
  });

  it("a refused --clone of a missing agent writes nothing and creates no folder", () => {
    const { home, file } = homeWith(MAIN_WITH_SETTINGS);
    const r = cli(["agent", "add", "x", "--clone", "nosuch", "--home", home]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('cannot clone "nosuch"');
    expect(readFileSync(file, "utf8")).toBe(MAIN_WITH_SETTINGS);
    expect(existsSync(join(home, "agents", "x"))).toBe(false);
  });

  it("validates the provider and model before writing", () => {
    const { home, file } = homeWith(MAIN_WITH_SETTINGS);
    const r = cli(["agent", "add", "x", "--model", "opnai/gpt-4.1-mini", "--home", home]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('agents.x.model.provider: unknown provider "opnai"');
    expect(readFileSync(file, "utf8")).toBe(MAIN_WITH_SETTINGS);
    expect(existsSync(join(home, "agents", "x"))).toBe(false);
  });

  it("an edit that would make the whole config invalid is refused and changes nothing", () => {
    // An agent whose id is valid but whose home would collide with another's: caught by full validation.
    const text = "agents:\n  main: {}\n  ops: { home: ./agents/new }\n";
    const { home, file } = homeWith(text);
    const r = cli(["agent", "add", "new", "--home", home]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("agents.new.home");
    expect(readFileSync(file, "utf8")).toBe(text);
  });
});

describe("an edit of a symlinked config.yaml", () => {
  it("writes the file the link points at and keeps the link", () => {
    const { home, file } = homeWith("");
    const elsewhere = mkdtempSync(join(tmpdir(), "sb-agent-edit-mount-"));
    homes.push(elsewhere);
    const real = join(elsewhere, "config.yaml");
    writeFileSync(real, MAIN_WITH_SETTINGS);
    rmSync(file);
    symlinkSync(real, file);
    const r = cli(["agent", "add", "support", "--home", home]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toContain("support:");
  });
});

describe("agent remove of the default agent", () => {
  const text = "default_agent: ops\nagents:\n  main: {}\n  ops: {}\n  support: {}\n";

  it("asks for a new default instead of falling back to main", () => {
    const { home, file } = homeWith(text);
    const r = cli(["agent", "remove", "ops", "--home", home]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('"ops" is the default_agent: choose the new default with --default <id>');
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  it("--default names the new one", () => {
    const { home, file } = homeWith(text);
    const r = cli(["agent", "remove", "ops", "--default", "support", "--home", home]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("default_agent: support");
    expect(cli(["agent", "remove", "support", "--default", "nope", "--home", home]).stderr).toContain(
      "--default nope: choose one of main",
    );
  });
});

describe("agent show", () => {
  it("summarises SOUL, skills, memory sizes and cron jobs", () => {
    const { home } = homeWith("agents:\n  main: {}\n  support: {}\n");
    const h = join(home, "agents", "support");
    mkdirSync(join(h, "memories"), { recursive: true });
    mkdirSync(join(h, "skills", "triage"), { recursive: true });
    writeFileSync(join(h, "SOUL.md"), "# Support\n\nYou answer tickets.\nBe brief.\nFourth line.\n");
    writeFileSync(join(h, "memories", "MEMORY.md"), "prefers email\n§\nVIP since 2024\n");
    writeFileSync(
      join(h, "skills", "triage", "SKILL.md"),
      "---\nname: triage\ndescription: sort tickets\n---\n",
    );
    const add = cli([
      "cron",
      "add",
      "--home",
      home,
      "--agent",
      "support",
      "--schedule",
      "every 2h",
      "--prompt",
      "q",
    ]);
    expect(add.status, add.stderr).toBe(0);
    const show = JSON.parse(cli(["agent", "show", "support", "--home", home, "--json"]).stdout);
    expect(show.soul).toEqual(["# Support", "You answer tickets.", "Be brief."]);
    expect(show.skills).toEqual([{ name: "triage", description: "sort tickets" }]);
    expect(show.memory["MEMORY.md"]).toMatchObject({ entries: 2 });
    expect(show.memory["USER.md"]).toBeNull();
    expect(show.cron.jobs).toEqual([expect.objectContaining({ schedule: "every 2h", enabled: true })]);
    const text = cli(["agent", "show", "support", "--home", home]).stdout;
    expect(text).toMatch(/soul\s+# Support \/ You answer tickets/);
    expect(text).toMatch(/skills\s+triage \(sort tickets\)/);
    expect(text).toMatch(/memory\s+MEMORY.md \d+ bytes, 2 entries; USER.md none/);
  });
});

describe("route test", () => {
  it("accepts every match key", () => {
    const { home } = homeWith(
      "agents:\n  main: {}\n  ops: {}\nroutes:\n  - match: { platform: feishu, user_id_alt: ou_7 }\n    agent: ops\n",
    );
    const args = MATCH_KEYS.flatMap((k) => [
      `--${k.replaceAll("_", "-")}`,
      k === "chat_type" ? "group" : k === "platform" ? "feishu" : k === "user_id_alt" ? "ou_7" : "x",
    ]);
    const r = cli(["route", "test", "--home", home, ...args, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ agent: "ops", by: "route", route: 0 });
  });

  it("runs the configured selectAgent plugins", () => {
    const { home } = homeWith("agents:\n  main: {}\n  vip: {}\nplugins: [./vip-router.mjs]\n");
    writeFileSync(
      join(home, "vip-router.mjs"),
      'export const plugin = { name: "vip-router", hooks: { selectAgent: ({ source }) => source.userId === "42" ? "vip" : undefined } };\n',
    );
    const vip = cli(["route", "test", "--home", home, "--platform", "telegram", "--user-id", "42", "--json"]);
    expect(vip.status, vip.stderr).toBe(0);
    expect(JSON.parse(vip.stdout)).toMatchObject({ agent: "vip", by: "hook", plugin: "vip-router" });
    const plain = cli(["route", "test", "--home", home, "--platform", "telegram", "--user-id", "7"]);
    expect(plain.stdout).toContain("agent: main");
  });
});
