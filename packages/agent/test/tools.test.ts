import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type CronService, openSessionStore, useAgent } from "@switchboard/core";
import { type StubChatRequest, type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner, parseMemoryEntries } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.cleanup());

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Run one echo tool call for an agent and return its tool-result event. */
async function callTool(
  runner: ReturnType<typeof createAgentRunner>,
  agent: Parameters<typeof makeTurn>[0],
  name: string,
  input: unknown,
  extra = {},
) {
  const events = await collect(
    runner.run(makeTurn(agent, `[[tool:${name} ${JSON.stringify(input)}]]`, extra)),
  );
  terminal(events);
  const result = events.find((e) => e.type === "tool-result");
  if (result?.type !== "tool-result") throw new Error(`no tool result in ${JSON.stringify(events)}`);
  return result;
}

describe("memory isolation under load", () => {
  let stub: StubLlm;
  beforeEach(async () => {
    stub = await startStubLlm();
  });
  afterEach(() => stub.close());

  it("never writes under another agent's home: 200 concurrent turns over 10 agents, echo and model tool calls mixed", async () => {
    const ids = Array.from({ length: 10 }, (_, k) => `a${k}`);
    const agentsYaml = ids
      .map((id, k) => (k % 2 === 0 ? `  ${id}: {}` : `  ${id}: { model: { provider: local, name: m } }`))
      .join("\n");
    const cfg = await configFrom(
      home.dir,
      `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\nagents:\n  main: {}\n${agentsYaml}\n`,
    );
    const modelTurn = (body: StubChatRequest) => {
      const last = body.messages.at(-1)!;
      if (last.role === "tool") return { text: "saved" };
      return {
        toolCalls: [{ name: "memory_add", arguments: { target: "memory", content: String(last.content) } }],
      };
    };
    stub.script(...Array.from({ length: 200 }, () => modelTurn));
    stub.setLatency(1);
    const runner = createAgentRunner();
    const turns = Array.from({ length: 200 }, (_, i) => {
      const k = i % 10;
      const agent = profile(cfg, ids[k]!);
      const note = `note ${i} of a${k}`;
      const text = k % 2 === 0 ? `[[tool:memory_add {"target":"memory","content":"${note}"}]]` : note;
      // Drive each turn from inside a different agent's scope: the turn's own agent must still win.
      const other = profile(cfg, ids[(k + 3) % 10]!);
      return useAgent(other, () => collect(runner.run(makeTurn(agent, text))));
    });
    const results = await Promise.all(turns);
    for (const events of results) {
      expect(terminal(events)).toMatchObject({ type: "finish" });
      expect(events.find((e) => e.type === "tool-result")).toMatchObject({ output: { ok: true } });
    }
    for (const [k, id] of ids.entries()) {
      const entries = parseMemoryEntries(
        readFileSync(join(home.dir, "agents", id, "memories", "MEMORY.md"), "utf8"),
      );
      expect(entries).toHaveLength(20);
      for (const e of entries) expect(e).toMatch(new RegExp(` of a${k}$`));
    }
    expect(filesUnder(home.dir)).toEqual(ids.map((id) => join("agents", id, "memories", "MEMORY.md")));
  }, 30_000);
});

describe("memory toolset", () => {
  it("adds, replaces and removes entries of MEMORY.md and USER.md", async () => {
    const agent = profile(await configFrom(home.dir, "agents:\n  main: {}\n"), "main");
    const runner = createAgentRunner();
    await callTool(runner, agent, "memory_add", { target: "user", content: "Name: Ada" });
    await callTool(runner, agent, "memory_add", { target: "user", content: "Likes: tea\nand biscuits" });
    await callTool(runner, agent, "memory_add", { target: "memory", content: "Deploy on Tuesdays" });
    expect(readFileSync(join(home.dir, "memories", "USER.md"), "utf8")).toBe(
      "Name: Ada\n§\nLikes: tea\nand biscuits\n",
    );
    await callTool(runner, agent, "memory_replace", {
      target: "user",
      old_text: "tea",
      new_text: "Likes: coffee",
    });
    expect(await callTool(runner, agent, "memory_remove", { target: "user", old_text: "Ada" })).toMatchObject(
      { output: { entries: 1 } },
    );
    expect(readFileSync(join(home.dir, "memories", "USER.md"), "utf8")).toBe("Likes: coffee\n");
    expect(readFileSync(join(home.dir, "memories", "MEMORY.md"), "utf8")).toBe("Deploy on Tuesdays\n");
  });

  it("explains missing, ambiguous and malformed edits", async () => {
    const agent = profile(await configFrom(home.dir, "agents:\n  main: {}\n"), "main");
    const runner = createAgentRunner();
    await callTool(runner, agent, "memory_add", { target: "memory", content: "alpha one" });
    await callTool(runner, agent, "memory_add", { target: "memory", content: "alpha two" });
    expect(
      await callTool(runner, agent, "memory_remove", { target: "memory", old_text: "alpha" }),
    ).toMatchObject({
      isError: true,
      output: '2 entries of MEMORY.md contain "alpha": quote more of the entry',
    });
    expect(
      await callTool(runner, agent, "memory_replace", { target: "memory", old_text: "beta", new_text: "x" }),
    ).toMatchObject({
      isError: true,
      output: 'no entry of MEMORY.md contains "beta"',
    });
    expect(await callTool(runner, agent, "memory_add", { target: "elsewhere", content: "x" })).toMatchObject({
      isError: true,
      output: expect.stringContaining("invalid input for memory_add: target"),
    });
    expect(
      await callTool(runner, agent, "memory_add", { target: "memory", content: "a\n§\nb" }),
    ).toMatchObject({ isError: true });
    expect(parseMemoryEntries(readFileSync(join(home.dir, "memories", "MEMORY.md"), "utf8"))).toEqual([
      "alpha one",
      "alpha two",
    ]);
  });

  it("refuses an entry past the size cap with a clear error and leaves the file unchanged", async () => {
    const agent = profile(await configFrom(home.dir, "agents:\n  main: {}\n"), "main");
    const small = createAgentRunner({ memoryCharLimit: 100 });
    await callTool(small, agent, "memory_add", { target: "memory", content: "x".repeat(60) });
    const over = await callTool(small, agent, "memory_add", { target: "memory", content: "y".repeat(60) });
    expect(over).toMatchObject({
      isError: true,
      output:
        "MEMORY.md would be 124 characters, over its limit of 100: shorten or remove entries first (memory_replace, memory_remove)",
    });
    expect(readFileSync(join(home.dir, "memories", "MEMORY.md"), "utf8")).toBe(`${"x".repeat(60)}\n`);
    const byDefault = await callTool(createAgentRunner(), agent, "memory_add", {
      target: "user",
      content: "z".repeat(8_000),
    });
    expect(byDefault).toMatchObject({
      isError: true,
      output: expect.stringContaining("over its limit of 8,000"),
    });
  });
});

describe("paths stay inside the agent's home", () => {
  it("refuses skill names and files that escape the skills directory", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  ops: {}\n");
    const ops = profile(cfg, "ops");
    mkdirSync(join(ops.home, "skills", "deploy"), { recursive: true });
    writeFileSync(
      join(ops.home, "skills", "deploy", "SKILL.md"),
      "---\nname: deploy\ndescription: ship it\n---\nSteps.",
    );
    writeFileSync(join(ops.home, "SOUL.md"), "ops soul");
    const runner = createAgentRunner();
    expect(await callTool(runner, ops, "skill_view", { name: "deploy" })).toMatchObject({
      output: { name: "deploy", content: expect.stringContaining("Steps.") },
    });
    for (const input of [
      { name: "../../SOUL.md" },
      { name: ".." },
      { name: "deploy/../../x" },
      { name: "deploy", file: "../../SOUL.md" },
      { name: "deploy", file: "/etc/passwd" },
      { name: "deploy", file: "..\\..\\SOUL.md" },
    ]) {
      expect(await callTool(runner, ops, "skill_view", input)).toMatchObject({
        isError: true,
        output: expect.stringContaining("refused"),
      });
    }
  });

  it("refuses symlinks that lead out of the agent's home", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  a: {}\n  b: {}\n");
    const a = profile(cfg, "a");
    const b = profile(cfg, "b");
    const outside = join(home.dir, "..", `${relative(join(home.dir, ".."), home.dir)}-outside`);
    mkdirSync(join(outside, "evil"), { recursive: true });
    writeFileSync(join(outside, "evil", "SKILL.md"), "---\ndescription: outside\n---\nsecret");
    mkdirSync(join(b.home, "skills"), { recursive: true });
    symlinkSync(join(outside, "evil"), join(b.home, "skills", "evil"));
    // b's memories directory points at a's: writing through it would land in a's home.
    mkdirSync(join(a.home, "memories"), { recursive: true });
    symlinkSync(join(a.home, "memories"), join(b.home, "memories"));
    // main's home is the root: another agent's skills are under it, but not main's to read.
    mkdirSync(join(a.home, "skills", "private"), { recursive: true });
    writeFileSync(join(a.home, "skills", "private", "SKILL.md"), "a's private skill");
    mkdirSync(join(home.dir, "skills"), { recursive: true });
    symlinkSync(join(a.home, "skills", "private"), join(home.dir, "skills", "borrowed"));
    try {
      const runner = createAgentRunner();
      expect(await callTool(runner, b, "skill_view", { name: "evil" })).toMatchObject({
        isError: true,
        output: expect.stringContaining("outside"),
      });
      expect(await callTool(runner, b, "memory_add", { target: "memory", content: "x" })).toMatchObject({
        isError: true,
        output: expect.stringContaining("refused"),
      });
      expect(readdirSync(join(a.home, "memories"))).toEqual([]);
      expect(await callTool(runner, profile(cfg, "main"), "skill_view", { name: "borrowed" })).toMatchObject({
        isError: true,
        output: expect.stringContaining("refused"),
      });
    } finally {
      home.cleanup();
      await import("node:fs").then((fs) => fs.rmSync(outside, { recursive: true, force: true }));
    }
  });
});

describe("sessions and cron toolsets", () => {
  it("searches only the calling agent's own past messages", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  a: {}\n  b: {}\n");
    const store = openSessionStore(join(home.dir, "state.db"));
    try {
      for (const id of ["a", "b"]) {
        const source = { platform: "test", chatType: "dm" as const, chatId: "1", agentId: id };
        const { session } = await store.getOrCreate(`agent:${id}:test:dm:1`, source);
        await store.append(session.id, [{ role: "user", content: `the invoice for ${id} is overdue` }]);
      }
      const runner = createAgentRunner();
      const result = await callTool(
        runner,
        profile(cfg, "a"),
        "session_search",
        { query: "invoice" },
        { services: { store } },
      );
      expect(result.isError).toBeUndefined();
      const hits = (result.output as { results: Array<{ snippet: string }> }).results;
      expect(hits).toHaveLength(1);
      expect(hits[0]!.snippet).toContain("invoice");
      expect(JSON.stringify(hits)).toContain("for a");
      expect(JSON.stringify(hits)).not.toContain("for b");
      expect(await callTool(runner, profile(cfg, "a"), "session_search", { query: "invoice" })).toMatchObject(
        {
          isError: true,
          output: expect.stringContaining("not available"),
        },
      );
    } finally {
      await store.close();
    }
  });

  it("creates, lists and removes cron jobs as the calling agent, and errors clearly without cron", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  ops: {}\n");
    const jobs: Array<{ agentId: string; id: string; input: unknown }> = [];
    const cron: CronService = {
      create: async (agentId, input) => {
        if (input.schedule === "never") throw new Error('schedule "never" is not a schedule');
        const job = { agentId, id: `job${jobs.length + 1}`, input };
        jobs.push(job);
        return { id: job.id };
      },
      list: async (agentId) => jobs.filter((j) => j.agentId === agentId).map((j) => ({ id: j.id })),
      remove: async (agentId, id) => {
        const i = jobs.findIndex((j) => j.agentId === agentId && j.id === id);
        if (i < 0) return false;
        jobs.splice(i, 1);
        return true;
      },
    };
    const ops = profile(cfg, "ops");
    const runner = createAgentRunner();
    const services = { services: { cron } };
    expect(
      await callTool(
        runner,
        ops,
        "cron_create",
        { schedule: "every 30m", prompt: "check the queue" },
        services,
      ),
    ).toMatchObject({
      output: { created: { id: "job1" } },
    });
    expect(jobs[0]).toMatchObject({
      agentId: "ops",
      input: {
        schedule: "every 30m",
        prompt: "check the queue",
        origin: { platform: "test", chatId: "chat-1" },
      },
    });
    expect(await callTool(runner, profile(cfg, "main"), "cron_list", {}, services)).toMatchObject({
      output: { jobs: [] },
    });
    expect(
      await callTool(runner, profile(cfg, "main"), "cron_remove", { job_id: "job1" }, services),
    ).toMatchObject({ isError: true });
    expect(
      await callTool(runner, ops, "cron_create", { schedule: "never", prompt: "x" }, services),
    ).toMatchObject({
      isError: true,
      output: 'schedule "never" is not a schedule',
    });
    expect(await callTool(runner, ops, "cron_remove", { job_id: "job1" }, services)).toMatchObject({
      output: { removed: "job1" },
    });
    expect(await callTool(runner, ops, "cron_list", {})).toMatchObject({
      isError: true,
      output: expect.stringContaining("not available"),
    });
  });
});
