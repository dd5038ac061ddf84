import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildSystemPrompt, createAgentRunner } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

const NOW = () => new Date("2026-03-04T05:06:07Z");
const SOURCE = {
  platform: "telegram",
  account: "support",
  chatType: "group" as const,
  chatId: "-100",
  chatName: "Ops room",
  threadId: "7",
  userId: "42",
  userName: "Ada",
};

function write(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

describe("system prompt", () => {
  it("assembles SOUL.md, memory, the skills index and the session context in order", async () => {
    const agent = profile(await configFrom(home.dir, "agents:\n  main: {}\n  ops: {}\n"), "ops");
    write(join(agent.home, "SOUL.md"), "You are Ops, terse and exact.\n");
    write(
      join(agent.home, "memories", "MEMORY.md"),
      "Deploys happen on Tuesdays.\n§\nThe pager rotates weekly.\n",
    );
    write(join(agent.home, "memories", "USER.md"), "Ada runs the database team.\n");
    write(
      join(agent.home, "skills", "deploy", "SKILL.md"),
      "---\nname: deploy-service\ndescription: Roll out a service\n  safely with canaries.\n---\n# Deploy\nsteps…\n",
    );
    write(join(agent.home, "skills", "rollback", "SKILL.md"), "no front matter here\n");
    write(join(agent.home, "skills", "empty-dir", "README.md"), "not a skill\n");

    const prompt = buildSystemPrompt(agent, SOURCE, { now: NOW, extraSystem: "Reply in English." });
    expect(prompt).toBe(
      [
        "You are Ops, terse and exact.",
        "## Memory\nDeploys happen on Tuesdays.\n§\nThe pager rotates weekly.",
        "## About the user\nAda runs the database team.",
        "## Skills\nRead a skill with `skill_view` before following it.\n- deploy-service: Roll out a service safely with canaries.\n- rollback",
        [
          "## Session context",
          "- Agent: ops (id ops)",
          "- Platform: telegram (account support)",
          '- Chat: group, "Ops room", id -100',
          "- Thread: 7",
          "- User: Ada, id 42",
          "- Current time: 2026-03-04T05:06:07.000Z (Wed, UTC)",
        ].join("\n"),
        "Reply in English.",
      ].join("\n\n"),
    );
  });

  it("uses a default persona naming the agent when SOUL.md is missing, and only the agent's own files", async () => {
    const cfg = await configFrom(
      home.dir,
      'agents:\n  main: {}\n  helper: { name: "Helper Bot", description: "Answers billing questions." }\n',
    );
    write(join(home.dir, "SOUL.md"), "I am main.");
    write(join(home.dir, "memories", "MEMORY.md"), "main's secret memory");
    const prompt = buildSystemPrompt(
      profile(cfg, "helper"),
      { platform: "api_server", chatType: "dm" },
      { now: NOW },
    );
    expect(prompt.startsWith("You are Helper Bot, a helpful assistant. Answers billing questions.")).toBe(
      true,
    );
    expect(prompt).not.toContain("I am main.");
    expect(prompt).not.toContain("main's secret memory");
    expect(prompt).not.toContain("## Skills");
    expect(
      buildSystemPrompt(profile(cfg, "main"), { platform: "api_server", chatType: "dm" }, { now: NOW }),
    ).toContain("main's secret memory");
  });

  it("re-reads a file when it changes on disk", async () => {
    const agent = profile(await configFrom(home.dir, "agents:\n  main: {}\n"), "main");
    const soul = join(agent.home, "SOUL.md");
    write(soul, "first persona");
    expect(buildSystemPrompt(agent, SOURCE, { now: NOW })).toContain("first persona");
    write(soul, "second persona, longer");
    utimesSync(soul, new Date(), new Date(Date.now() + 5_000));
    expect(buildSystemPrompt(agent, SOURCE, { now: NOW })).toContain("second persona, longer");
    write(join(agent.home, "skills", "new-skill", "SKILL.md"), "---\ndescription: added later\n---\n");
    expect(buildSystemPrompt(agent, SOURCE, { now: NOW })).toContain("- new-skill: added later");
  });

  describe("sent to the model", () => {
    let stub: StubLlm;
    beforeEach(async () => {
      stub = await startStubLlm();
    });
    afterEach(() => stub.close());

    it("is the system message of each agent's request, with the turn's clock", async () => {
      const cfg = await configFrom(
        home.dir,
        `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\nmodel: { provider: local, name: m }\nagents:\n  main: {}\n  a: {}\n  b: {}\n`,
      );
      write(join(home.dir, "agents", "a", "SOUL.md"), "Persona A");
      write(join(home.dir, "agents", "b", "SOUL.md"), "Persona B");
      const runner = createAgentRunner({ now: NOW });
      await Promise.all(["a", "b"].map((id) => collect(runner.run(makeTurn(profile(cfg, id), `to ${id}`)))));
      for (const body of stub.requests) {
        const id = String(body.messages.at(-1)!.content).slice(3);
        const system = String(body.messages[0]!.content);
        expect(system.startsWith(`Persona ${id.toUpperCase()}`)).toBe(true);
        expect(system).toContain("2026-03-04T05:06:07.000Z");
        expect(system).toContain("- User: Ada, id u-1");
      }
      expect(stub.requests).toHaveLength(2);
    });
  });
});

describe("prompt assembly stays inside the agent's home", () => {
  it("does not follow a symlink to another agent's SOUL.md, MEMORY.md, memories/ or skills", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  ops: {}\n  hr: {}\n  dev: {}\n");
    const hr = profile(cfg, "hr");
    write(join(hr.home, "SOUL.md"), "HR SECRET PERSONA");
    write(join(hr.home, "memories", "MEMORY.md"), "HR SECRET MEMORY: salaries");
    write(join(hr.home, "memories", "USER.md"), "HR SECRET USER");
    write(
      join(hr.home, "skills", "payroll", "SKILL.md"),
      "---\nname: payroll\ndescription: HR SECRET SKILL\n---\n",
    );

    const ops = profile(cfg, "ops");
    mkdirSync(join(ops.home, "memories"), { recursive: true });
    mkdirSync(join(ops.home, "skills"), { recursive: true });
    symlinkSync(join(hr.home, "SOUL.md"), join(ops.home, "SOUL.md"));
    symlinkSync(join(hr.home, "memories", "MEMORY.md"), join(ops.home, "memories", "MEMORY.md"));
    symlinkSync(join(hr.home, "memories", "USER.md"), join(ops.home, "memories", "USER.md"));
    symlinkSync(join(hr.home, "skills", "payroll"), join(ops.home, "skills", "payroll"));
    write(join(ops.home, "skills", "own", "SKILL.md"), "---\nname: own-skill\ndescription: mine\n---\n");

    const dev = profile(cfg, "dev");
    mkdirSync(dev.home, { recursive: true });
    symlinkSync(join(hr.home, "memories"), join(dev.home, "memories"));
    symlinkSync(join(hr.home, "skills"), join(dev.home, "skills"));

    for (const agent of [ops, dev]) {
      const prompt = buildSystemPrompt(agent, SOURCE, { now: NOW });
      expect(prompt).not.toContain("HR SECRET");
    }
    expect(buildSystemPrompt(ops, SOURCE, { now: NOW })).toContain("- own-skill: mine");
    // A symlink that stays inside the home is still followed.
    rmSync(join(ops.home, "SOUL.md"));
    write(join(ops.home, "persona.md"), "You are Ops.");
    symlinkSync(join(ops.home, "persona.md"), join(ops.home, "SOUL.md"));
    expect(buildSystemPrompt(ops, SOURCE, { now: NOW })).toMatch(/^You are Ops\./);
  });
});
