import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { cli, type RunningCli, startCli } from "./cli-helpers.ts";

const dirs: string[] = [];
const running: RunningCli[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.kill("SIGKILL");
    await r.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh home written by `switchboard init`, its API on a free port. */
function initHome(): string {
  const home = mkdtempSync(join(tmpdir(), "sb-cli-"));
  dirs.push(home);
  const r = cli(["init", "--home", home]);
  expect(r.status, r.stderr).toBe(0);
  const file = join(home, "config.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("port: 8642", "port: 0"));
  return home;
}

/** `switchboard run` on a home, resolved once it serves. */
async function runGateway(home: string): Promise<{ gw: RunningCli; client: OpenAI }> {
  const gw = startCli(["run", "--home", home]);
  running.push(gw);
  const line = await gw.waitForLog((l) => typeof l.url === "string" && String(l.msg).startsWith("listening"));
  await gw.waitForLog((l) => l.agent === "main" && String(l.msg).includes("ready"));
  return { gw, client: new OpenAI({ baseURL: `${String(line.url)}/v1`, apiKey: "unused", maxRetries: 0 }) };
}

async function ask(client: OpenAI, model: string, content: string): Promise<string | null | undefined> {
  const r = await client.chat.completions.create({ model, messages: [{ role: "user", content }] });
  return r.choices[0]!.message.content;
}

describe("the switchboard CLI, each command in its own temp home", () => {
  it("init writes a starter home and refuses to overwrite it", () => {
    const home = mkdtempSync(join(tmpdir(), "sb-cli-"));
    dirs.push(home);
    const first = cli(["init", "--home", home]);
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(join(home, "config.yaml"), "utf8")).toContain("default_agent: main");
    expect(readFileSync(join(home, "SOUL.md"), "utf8")).toContain("Persona");
    const again = cli(["init", "--home", home]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("refusing to overwrite");
  });

  it("config check validates and summarizes; a bad config exits 2 naming the path", () => {
    const home = initHome();
    const ok = cli(["config", "check", "--home", home]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("agents:    main");
    const bad = mkdtempSync(join(tmpdir(), "sb-bad-"));
    dirs.push(bad);
    writeFileSync(
      join(bad, "config.yaml"),
      "routes:\n  - match: { platform: telegram, chat_idd: '1' }\n    agent: nobody\n",
    );
    const r = cli(["config", "check", "--home", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("routes[0].match.chat_idd");
    expect(r.stderr).toContain("routes[0].agent");
  });

  it("run serves a reply over HTTP", async () => {
    const { client } = await runGateway(initHome());
    expect(await ask(client, "main", "hello there")).toBe("[main] hello there");
  });

  it("agent add is picked up by live reload without a restart", async () => {
    const home = initHome();
    const { gw, client } = await runGateway(home);
    const add = cli(["agent", "add", "ops", "--home", home]);
    expect(add.status, add.stderr).toBe(0);
    expect(readFileSync(join(home, "config.yaml"), "utf8")).toContain("# Switchboard configuration");
    await gw.waitForLog(
      (l) => String(l.msg).startsWith("config reloaded") && JSON.stringify(l.agents).includes("ops"),
    );
    expect(await ask(client, "ops", "status?")).toBe("[ops] status?");
  });

  it("an invalid edit is rejected and the old config keeps serving", async () => {
    const home = initHome();
    const { gw, client } = await runGateway(home);
    const file = join(home, "config.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}\nroutes_typo: []\n`);
    await gw.waitForLog(
      (l) => String(l.msg).startsWith("config reload rejected") && String(l.msg).includes("routes_typo"),
    );
    expect(await ask(client, "main", "still here")).toBe("[main] still here");
  });

  it("SIGHUP reloads a config the file watcher cannot see (a symlinked file, as Kubernetes mounts it)", async () => {
    const home = initHome();
    const mounted = mkdtempSync(join(tmpdir(), "sb-cli-mount-"));
    dirs.push(mounted);
    const real = join(mounted, "config.yaml");
    writeFileSync(real, readFileSync(join(home, "config.yaml"), "utf8"));
    rmSync(join(home, "config.yaml"));
    symlinkSync(real, join(home, "config.yaml"));
    const { gw, client } = await runGateway(home);
    writeFileSync(real, readFileSync(real, "utf8").replace("  main: {}", "  main: {}\n  late: {}"));
    await new Promise((r) => setTimeout(r, 400));
    expect(gw.lines.some((l) => String(l.msg).startsWith("config reloaded"))).toBe(false);
    gw.kill("SIGHUP");
    await gw.waitForLog(
      (l) => String(l.msg).startsWith("config reloaded") && JSON.stringify(l.agents).includes("late"),
    );
    expect(await ask(client, "late", "hi")).toBe("[late] hi");
  });

  it("route test explains which rule chose the agent", () => {
    const home = initHome();
    const file = join(home, "config.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace("  main: {}", "  main: {}\n  ops: {}")
        .replace("routes: []", 'routes:\n  - match: { platform: telegram, chat_id: "-100" }\n    agent: ops'),
    );
    const r = cli([
      "route",
      "test",
      "--home",
      home,
      "--platform",
      "telegram",
      "--chat-id",
      "-100",
      "--user-id",
      "7",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("agent: ops");
    expect(r.stdout).toContain("routes[0]");
    const d = cli(["route", "test", "--home", home, "--platform", "discord", "--chat-id", "5", "--json"]);
    expect(JSON.parse(d.stdout)).toMatchObject({ agent: "main", by: "default" });
  });

  it("SIGTERM drains a slow turn and exits 0", async () => {
    const { gw, client } = await runGateway(initHome());
    const slow = client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "[[sleep:1500]] slow one" }],
    });
    await new Promise((r) => setTimeout(r, 300));
    gw.kill("SIGTERM");
    const reply = await slow;
    expect(reply.choices[0]!.message.content).toContain("slow one");
    expect(await gw.exited).toBe(0);
  });
});
