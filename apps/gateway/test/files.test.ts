import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type RunningCli, startCli } from "./cli-helpers.ts";

const root = mkdtempSync(join(tmpdir(), "sb-files-"));
const children: RunningCli[] = [];
let umask: number;
beforeAll(() => {
  // The common default: without care, new files would be world-readable (0644) and folders 0755.
  umask = process.umask(0o022);
});
afterAll(() => {
  process.umask(umask);
  for (const c of children) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe("files the gateway creates are the owner's alone", () => {
  it("init, state.db with its WAL and SHM, memory files and cron output are 0600 in 0700 folders", {
    timeout: 60_000,
  }, async () => {
    const home = join(root, "home");
    const init = cli(["init", "--home", home]);
    expect(init.status, init.stderr).toBe(0);
    expect(mode(join(home, ".env"))).toBe(0o600);
    expect(mode(join(home, "memories"))).toBe(0o700);
    expect(mode(join(home, "skills"))).toBe(0o700);
    writeFileSync(
      join(home, "config.yaml"),
      "api_server: { port: 0 }\ncron: { enabled: false }\nagents: { main: {} }\n",
    );

    const run = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
    children.push(run);
    const url = String((await run.waitForLog((l) => typeof l.url === "string", 20_000)).url);
    const client = new OpenAI({ apiKey: "unused", baseURL: `${url}/v1`, maxRetries: 0 });
    const reply = await client.chat.completions.create({
      model: "main",
      messages: [
        {
          role: "user",
          content: '[[tool:memory_add {"target":"memory","content":"the pager rotates weekly"}]]',
        },
      ],
    });
    expect(reply.choices[0]?.message.content).toContain("memory_add");
    for (const f of ["state.db", "state.db-wal", "state.db-shm"]) expect(mode(join(home, f)), f).toBe(0o600);
    expect(mode(join(home, "memories", "MEMORY.md"))).toBe(0o600);
    run.kill("SIGTERM");
    await run.exited;

    const added = cli([
      "cron",
      "add",
      "--home",
      home,
      "--agent",
      "main",
      "--schedule",
      "1d",
      "--prompt",
      "hi",
      "--json",
    ]);
    expect(added.status, added.stderr).toBe(0);
    const id = (JSON.parse(added.stdout) as { id: string }).id;
    const ran = cli(["cron", "run", id, "--home", home]);
    expect(ran.status, ran.stderr).toBe(0);
    const outDir = join(home, "cron", "output", id);
    for (const d of [join(home, "cron"), join(home, "cron", "output"), outDir])
      expect(mode(d), d).toBe(0o700);
    const outputs = readdirSync(outDir);
    expect(outputs).toHaveLength(1);
    expect(mode(join(outDir, outputs[0]!))).toBe(0o600);
    expect(mode(join(home, "cron", "jobs.json"))).toBe(0o600);
  });

  it("tightens an existing state.db that others could read", () => {
    const home = join(root, "loose");
    cli(["init", "--home", home]);
    writeFileSync(join(home, "config.yaml"), "agents: { main: {} }\n");
    // sessions list opens the store; create it world-readable first.
    writeFileSync(join(home, "state.db"), "", { mode: 0o644 });
    const r = cli(["sessions", "list", "--home", home]);
    expect(r.status, r.stderr).toBe(0);
    expect(mode(join(home, "state.db"))).toBe(0o600);
  });
});

describe("a state.db that cannot be opened", () => {
  it("stops the start with an error naming the file and what to do, not a stack trace", () => {
    const home = join(root, "corrupt");
    cli(["init", "--home", home]);
    writeFileSync(join(home, "config.yaml"), "api_server: { port: 0 }\nagents: { main: {} }\n");
    writeFileSync(join(home, "state.db"), "this is not a database, it is a shopping list\n".repeat(200));
    const r = cli(["run", "--home", home]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(join(home, "state.db"));
    expect(r.stderr).toMatch(/move it aside/);
    expect(r.stderr).toMatch(/backup/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(home, "state.db.broken"))).toBe(false);
  });
});
