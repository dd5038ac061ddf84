import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner, mcpStatusPath, type SwitchboardAgentRunner } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome, terminal } from "./helpers.ts";
import { alive, callThenAnswer, STDIO_SERVER, toolOutput, until, whoami, writeEnv } from "./mcp-helpers.ts";
import { startHttpMcp, type TestHttpMcp } from "./mcp-http-server.ts";

let home: ReturnType<typeof tempHome>;
let stub: StubLlm;
let runner: SwitchboardAgentRunner;
let http: TestHttpMcp | undefined;

beforeEach(async () => {
  home = tempHome();
  stub = await startStubLlm();
  runner = createAgentRunner({ mcp: { backoff: { baseMs: 50, maxMs: 200 } } });
});
afterEach(async () => {
  await runner.close();
  await http?.close();
  http = undefined;
  await stub.close();
  home.cleanup();
});

const provider = () => `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\n`;
const model = "model: { provider: local, name: m }";

async function turn(agentId: string, cfgYaml: string, text = "go") {
  const cfg = await configFrom(home.dir, cfgYaml);
  const events = await collect(runner.run(makeTurn(profile(cfg, agentId), text)));
  return { cfg, events, end: terminal(events) };
}

describe("MCP servers per agent (stdio)", () => {
  it("gives two agents with the same definition two processes, each with its own secret, home and nothing else of the environment", async () => {
    const server = `{ command: node, args: ["${STDIO_SERVER}"], env: { TOKEN: "\${secret:GITHUB_TOKEN}" } }`;
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp: { files: ${server} }\n  dev:\n    ${model}\n    mcp: { files: ${server} }\n`;
    writeEnv(join(home.dir, "agents", "ops"), { GITHUB_TOKEN: "ops-token" });
    writeEnv(join(home.dir, "agents", "dev"), { GITHUB_TOKEN: "dev-token" });
    process.env.SB_TEST_LEAK = "must-not-reach-the-server";
    try {
      stub.script(...callThenAnswer("whoami"), ...callThenAnswer("whoami"));
      const ops = await turn("ops", yaml);
      const dev = await turn("dev", yaml);
      expect(ops.end.type).toBe("finish");
      expect(dev.end.type).toBe("finish");
      const a = whoami(toolOutput(ops.events).output);
      const b = whoami(toolOutput(dev.events).output);
      expect(a.pid).not.toBe(b.pid);
      expect(alive(a.pid) && alive(b.pid)).toBe(true);
      expect(a.env.TOKEN).toBe("ops-token");
      expect(b.env.TOKEN).toBe("dev-token");
      expect(Object.keys(a.env).sort()).toEqual(["HOME", "PATH", "TOKEN"]);
      expect(a.env.HOME).toBe(join(home.dir, "agents", "ops"));
      expect(a.cwd).toBe(join(home.dir, "agents", "ops"));
      expect(b.cwd).toBe(join(home.dir, "agents", "dev"));
      expect(runner.mcp.running()).toBe(2);
    } finally {
      delete process.env.SB_TEST_LEAK;
    }
  });

  it("fails closed on a secret the agent does not have: the turn errors naming the server, the root .env is not consulted", async () => {
    writeEnv(home.dir, { GITHUB_TOKEN: "root-token" });
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      github: { command: node, args: ["${STDIO_SERVER}"], env: { TOKEN: "\${secret:GITHUB_TOKEN}" } }\n`;
    const { end } = await turn("ops", yaml);
    expect(end).toMatchObject({ type: "error", code: "mcp_unavailable" });
    expect((end as { message: string }).message).toContain('MCP server "github" of agent "ops"');
    expect((end as { message: string }).message).toContain("GITHUB_TOKEN");
    expect(stub.requests).toHaveLength(0);
  });

  it("reports a server that fails to start as an error on that turn naming it; other agents keep working", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      broken: { command: node, args: ["${STDIO_SERVER}"], env: { MCP_FAIL_START: "1" } }\n  dev:\n    ${model}\n`;
    const { end } = await turn("ops", yaml);
    expect(end.type).toBe("error");
    expect((end as { message: string }).message).toMatch(
      /MCP server "broken" of agent "ops" could not start/,
    );
    const other = await turn("dev", yaml, "hello");
    expect(other.end).toMatchObject({ type: "finish", text: "stub: hello" });
  });

  it("reports a command that does not exist as a start failure of that server", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      ghost: { command: sb-no-such-command, startup_timeout_s: 5 }\n`;
    const { end } = await turn("ops", yaml);
    expect(end).toMatchObject({ type: "error", code: "mcp_unavailable" });
    expect((end as { message: string }).message).toMatch(
      /MCP server "ghost" of agent "ops" could not start: .*ENOENT/,
    );
  });

  it("shows the model only the tools listed under tools:, and holds approval-listed tools", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"], tools: [read_file, list_dir] }\n`;
    const { end } = await turn("ops", yaml, "hi");
    expect(end.type).toBe("finish");
    const names = (stub.requests[0]!.tools ?? []).map((t) => t.function.name);
    expect(names).toContain("read_file");
    expect(names).toContain("list_dir");
    expect(names).not.toContain("write_file");
    expect(names).not.toContain("whoami");
  });

  it("reads files relative to the agent's home", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"] }\n`;
    writeEnv(join(home.dir, "agents", "ops"), {});
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(home.dir, "agents", "ops", "notes.txt"), "ops notes");
    stub.script(...callThenAnswer("read_file", { path: "notes.txt" }));
    const { events } = await turn("ops", yaml);
    expect(toolOutput(events)).toEqual({ output: "ops notes", isError: false });
  });

  it("stops an idle server after idle_timeout_s and starts it again on the next call", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"], idle_timeout_s: 0.3 }\n`;
    stub.script(...callThenAnswer("whoami"), ...callThenAnswer("whoami"));
    const first = whoami(toolOutput((await turn("ops", yaml)).events).output);
    const cfg = await configFrom(home.dir, yaml);
    const conn = runner.mcp.connection(profile(cfg, "ops"), "files")!;
    await until(() => conn.state === "stopped", 5000, "idle stop");
    await until(() => !alive(first.pid), 5000, "the child to exit");
    const status = JSON.parse(readFileSync(mcpStatusPath(home.dir, "ops"), "utf8"));
    expect(status.servers.files).toMatchObject({
      state: "stopped",
      tools: expect.arrayContaining(["whoami"]),
    });
    const second = whoami(toolOutput((await turn("ops", yaml)).events).output);
    expect(second.pid).not.toBe(first.pid);
    expect(conn.state).toBe("running");
  });

  it("restarts a crashed server with backoff", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"] }\n`;
    stub.script(...callThenAnswer("whoami"), ...callThenAnswer("crash"), ...callThenAnswer("whoami"));
    const before = whoami(toolOutput((await turn("ops", yaml)).events).output);
    await turn("ops", yaml);
    await until(() => !alive(before.pid), 5000, "the crash");
    const cfg = await configFrom(home.dir, yaml);
    const conn = runner.mcp.connection(profile(cfg, "ops"), "files")!;
    await until(() => conn.state === "running" && conn.status().restarts === 1, 5000, "the restart");
    const after = whoami(toolOutput((await turn("ops", yaml)).events).output);
    expect(after.pid).not.toBe(before.pid);
    expect(alive(after.pid)).toBe(true);
  });

  it("replaces the server when its definition changes (live reload); the old process ends", async () => {
    const base = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"], env: { V: "%V%" } }\n`;
    stub.script(...callThenAnswer("whoami"), ...callThenAnswer("whoami"));
    const one = whoami(toolOutput((await turn("ops", base.replace("%V%", "1"))).events).output);
    const two = whoami(toolOutput((await turn("ops", base.replace("%V%", "2"))).events).output);
    expect([one.env.V, two.env.V]).toEqual(["1", "2"]);
    expect(two.pid).not.toBe(one.pid);
    await until(() => !alive(one.pid), 5000, "the old server to stop");
    expect(runner.mcp.running()).toBe(1);
  });

  it("does not start anything for an agent whose turns have not needed MCP yet", async () => {
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"] }\n  dev:\n    ${model}\n`;
    await turn("dev", yaml, "hi");
    expect(runner.mcp.running()).toBe(0);
    expect(existsSync(mcpStatusPath(home.dir, "ops"))).toBe(false);
  });
});

describe("MCP servers per agent (Streamable HTTP) and name collisions", () => {
  it("opens one session per agent with that agent's own header secret", async () => {
    http = await startHttpMcp();
    const server = `{ url: "${http.url}", headers: { Authorization: "Bearer \${secret:SEARCH_KEY}" } }`;
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp: { web: ${server} }\n  dev:\n    ${model}\n    mcp: { web: ${server} }\n`;
    writeEnv(join(home.dir, "agents", "ops"), { SEARCH_KEY: "ops-key" });
    writeEnv(join(home.dir, "agents", "dev"), { SEARCH_KEY: "dev-key" });
    stub.script(...callThenAnswer("whoami"), ...callThenAnswer("whoami"));
    const ops = whoami(toolOutput((await turn("ops", yaml)).events).output);
    const dev = whoami(toolOutput((await turn("dev", yaml)).events).output);
    expect(ops.authorization).toBe("Bearer ops-key");
    expect(dev.authorization).toBe("Bearer dev-key");
    expect(http.sessions()).toBe(2);
  });

  it("reconnects after the HTTP server restarted: the call that found it gone fails, the next one works", async () => {
    http = await startHttpMcp();
    const port = Number(new URL(http.url).port);
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    mcp: { web: { url: "${http.url}" } }\n`;
    stub.script(
      ...callThenAnswer("search", { q: "a" }),
      ...callThenAnswer("search", { q: "b" }),
      ...callThenAnswer("search", { q: "c" }),
    );
    expect(toolOutput((await turn("ops", yaml)).events)).toEqual({ output: "http:a", isError: false });
    await http.close();
    http = await startHttpMcp({ port });
    const failed = toolOutput((await turn("ops", yaml)).events);
    expect(failed.isError).toBe(true);
    expect(String(failed.output)).toContain('MCP server "web" of agent "ops": search failed');
    expect(toolOutput((await turn("ops", yaml)).events)).toEqual({ output: "http:c", isError: false });
    expect(http.sessions()).toBe(1);
  });

  it("prefixes tool names with the server name when two servers (or a built-in) share a name", async () => {
    http = await startHttpMcp();
    const yaml = `${provider()}agents:\n  main: {}\n  ops:\n    ${model}\n    toolsets: [memory]\n    mcp:\n      files: { command: node, args: ["${STDIO_SERVER}"], tools: [search, read_file, whoami] }\n      web: { url: "${http.url}" }\n`;
    stub.script(...callThenAnswer("web_search", { q: "x" }));
    const { events } = await turn("ops", yaml);
    const names = (stub.requests[0]!.tools ?? []).map((t) => t.function.name).sort();
    expect(names).toEqual(
      [
        "files_search",
        "files_whoami",
        "memory_add",
        "memory_remove",
        "memory_replace",
        "read_file",
        "web_search",
        "web_whoami",
      ].sort(),
    );
    expect(toolOutput(events)).toEqual({ output: "http:x", isError: false });
  });
});
