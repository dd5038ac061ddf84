import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { cli, type RunningCli, startCli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-cli-"));
const running: RunningCli[] = [];

afterAll(async () => {
  for (const r of running) {
    r.kill("SIGKILL");
    await r.exited;
  }
  rmSync(home, { recursive: true, force: true });
});

function setPort0(): void {
  const file = join(home, "config.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("port: 8642", "port: 0"));
}

describe("the switchboard CLI, end to end in a temp home", () => {
  let url = "";
  let gw: RunningCli;

  it("init writes a starter home and refuses to overwrite it", () => {
    const first = cli(["init", "--home", home]);
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(join(home, "config.yaml"), "utf8")).toContain("default_agent: main");
    expect(readFileSync(join(home, "SOUL.md"), "utf8")).toContain("Persona");
    const again = cli(["init", "--home", home]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("refusing to overwrite");
  });

  it("config check validates and summarizes; a bad config exits 2 naming the path", () => {
    const ok = cli(["config", "check", "--home", home]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("agents:    main");
    const bad = mkdtempSync(join(tmpdir(), "sb-bad-"));
    writeFileSync(
      join(bad, "config.yaml"),
      "routes:\n  - match: { platform: telegram, chat_idd: '1' }\n    agent: nobody\n",
    );
    const r = cli(["config", "check", "--home", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("routes[0].match.chat_idd");
    expect(r.stderr).toContain("routes[0].agent");
    rmSync(bad, { recursive: true, force: true });
  });

  it("run serves a reply over HTTP", async () => {
    setPort0();
    gw = startCli(["run", "--home", home]);
    running.push(gw);
    const line = await gw.waitForLog(
      (l) => typeof l.url === "string" && String(l.msg).startsWith("listening"),
    );
    url = String(line.url);
    await gw.waitForLog((l) => l.agent === "main" && String(l.msg).includes("ready"));
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const r = await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "hello there" }],
    });
    expect(r.choices[0]!.message.content).toBe("[main] hello there");
  });

  it("agent add is picked up by live reload without a restart", async () => {
    const add = cli(["agent", "add", "ops", "--home", home]);
    expect(add.status, add.stderr).toBe(0);
    expect(readFileSync(join(home, "config.yaml"), "utf8")).toContain("# Switchboard configuration");
    await gw.waitForLog(
      (l) => String(l.msg).startsWith("config reloaded") && JSON.stringify(l.agents).includes("ops"),
    );
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const r = await client.chat.completions.create({
      model: "ops",
      messages: [{ role: "user", content: "status?" }],
    });
    expect(r.choices[0]!.message.content).toBe("[ops] status?");
  });

  it("an invalid edit is rejected and the old config keeps serving", async () => {
    const file = join(home, "config.yaml");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, `${good}\nroutes_typo: []\n`);
    await gw.waitForLog(
      (l) => String(l.msg).startsWith("config reload rejected") && String(l.msg).includes("routes_typo"),
    );
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const r = await client.chat.completions.create({
      model: "ops",
      messages: [{ role: "user", content: "still here" }],
    });
    expect(r.choices[0]!.message.content).toBe("[ops] still here");
    writeFileSync(file, good);
  });

  it("route test explains which rule chose the agent", () => {
    const file = join(home, "config.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "routes: []",
        'routes:\n  - match: { platform: telegram, chat_id: "-100" }\n    agent: ops',
      ),
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
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
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
