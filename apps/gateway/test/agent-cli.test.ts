import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-agent-cli-"));
const file = join(home, "config.yaml");
writeFileSync(
  file,
  `# My gateway — keep this comment
agents:
  main: {}   # the default
  support:
    model: { provider: echo }
routes:
  # support's group
  - match: { platform: telegram, chat_id: "-100" }
    agent: support
`,
);
mkdirSync(join(home, "agents", "support", "memories"), { recursive: true });
mkdirSync(join(home, "agents", "support", "skills", "triage"), { recursive: true });
writeFileSync(join(home, "agents", "support", "SOUL.md"), "You are Support.\n");
writeFileSync(join(home, "agents", "support", "memories", "MEMORY.md"), "customer prefers email\n");
writeFileSync(
  join(home, "agents", "support", "skills", "triage", "SKILL.md"),
  "---\nname: triage\ndescription: sort tickets\n---\n",
);
writeFileSync(join(home, "agents", "support", ".env"), "OPENAI_API_KEY=sk-support\n");
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("switchboard agent", () => {
  it("lists and shows agents", () => {
    const list = cli(["agent", "list", "--home", home]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/AGENT\s+MODEL\s+ROUTES/);
    expect(list.stdout).toMatch(/support\s+echo\s+1/);
    const show = JSON.parse(cli(["agent", "show", "support", "--home", home, "--json"]).stdout) as {
      home: string;
      routes: number[];
    };
    expect(show.home).toBe(join(home, "agents", "support"));
    expect(show.routes).toEqual([0]);
    expect(cli(["agent", "show", "nobody", "--home", home]).status).not.toBe(0);
  });

  it("adds an agent cloned from another, without its secrets, keeping the file's comments", () => {
    const r = cli([
      "agent",
      "add",
      "helpdesk",
      "--clone",
      "support",
      "--model",
      "openai/gpt-4.1-mini",
      "--home",
      home,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# My gateway — keep this comment");
    expect(text).toContain("# support's group");
    expect(text).toContain("# the default");
    expect(text).toMatch(/helpdesk:\s*\n\s+model:/);
    const h = join(home, "agents", "helpdesk");
    expect(readFileSync(join(h, "SOUL.md"), "utf8")).toBe("You are Support.\n");
    expect(readFileSync(join(h, "memories", "MEMORY.md"), "utf8")).toContain("email");
    expect(existsSync(join(h, "skills", "triage", "SKILL.md"))).toBe(true);
    expect(existsSync(join(h, ".env"))).toBe(false);
    expect(cli(["agent", "add", "helpdesk", "--home", home]).stderr).toContain("already exists");
    expect(cli(["agent", "add", "Bad/Id", "--home", home]).stderr).toContain("invalid agent id");
  });

  it("copies secrets only with --with-secrets", () => {
    expect(
      cli(["agent", "add", "mirror", "--clone", "support", "--with-secrets", "--home", home]).status,
    ).toBe(0);
    expect(readFileSync(join(home, "agents", "mirror", ".env"), "utf8")).toContain("sk-support");
  });

  it("refuses to remove an agent that routes still point at, unless --force removes them too", () => {
    const refused = cli(["agent", "remove", "support", "--home", home]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("routes[0]");
    expect(refused.stderr).toContain("--force");
    const forced = cli(["agent", "remove", "support", "--force", "--home", home]);
    expect(forced.status, forced.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("support:");
    expect(text).not.toContain('chat_id: "-100"');
    expect(text).toContain("# My gateway — keep this comment");
    expect(cli(["config", "check", "--home", home]).status).toBe(0);
    expect(existsSync(join(home, "agents", "support"))).toBe(true);
    expect(cli(["agent", "remove", "mirror", "--purge", "--home", home]).status).toBe(0);
    expect(existsSync(join(home, "agents", "mirror"))).toBe(false);
  });
});
