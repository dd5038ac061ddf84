import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";
import { cli } from "./cli-helpers.ts";

const SERVER = join(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "packages",
  "agent",
  "test",
  "fixtures",
  "mcp-stdio-server.mjs",
);
const home = mkdtempSync(join(tmpdir(), "sb-mcp-cli-"));
let stub: StubLlm;

beforeAll(async () => {
  stub = await startStubLlm();
  writeFileSync(
    join(home, "config.yaml"),
    `api_server: { port: 0 }
providers:
  local: { kind: openai-compatible, base_url: "${stub.url}" }
agents:
  main: {}
  ops:
    model: { provider: local, name: m }
    mcp:
      files: { command: node, args: ["${SERVER}"], tools: [read_file, list_dir], approval: [write_file] }
      broken: { command: node, args: ["${SERVER}"], env: { MCP_FAIL_START: "1" } }
  plain: {}
`,
  );
});
afterAll(async () => {
  await stub.close();
  rmSync(home, { recursive: true, force: true });
});

describe("switchboard mcp test", () => {
  it("starts the server in the agent's scope and lists its tools, marking what tools: hides and approval: holds", () => {
    const r = cli(["mcp", "test", "ops", "files", "--home", home, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { tools: Array<{ name: string; shown: boolean; approval: boolean }> };
    const byName = Object.fromEntries(out.tools.map((t) => [t.name, t]));
    expect(byName.read_file).toMatchObject({ shown: true, approval: false });
    expect(byName.write_file).toMatchObject({ shown: false, approval: true });
    expect(byName.whoami).toMatchObject({ shown: false });
    const text = cli(["mcp", "test", "ops", "files", "--home", home]);
    expect(text.stdout).toContain('MCP server "files" of agent "ops" started: 6 tools');
  });

  it("names the server when it cannot start, and the servers an agent has when it names none", () => {
    const broken = cli(["mcp", "test", "ops", "broken", "--home", home]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('MCP server "broken" of agent "ops" could not start');
    const missing = cli(["mcp", "test", "ops", "nope", "--home", home]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('agent "ops" has no MCP server "nope" (servers: files, broken)');
    expect(cli(["mcp", "test", "plain", "x", "--home", home]).stderr).toContain(
      "add one under agents.plain.mcp",
    );
  });
});

describe("switchboard agent show (MCP)", () => {
  let gw: RunningGateway;
  afterAll(async () => {
    await gw?.stop();
  });

  it("reports each server's state and tools: not started, running in a gateway, stopped after it", async () => {
    const before = JSON.parse(cli(["agent", "show", "ops", "--home", home, "--json"]).stdout) as {
      mcp: Record<string, { state: string; transport: string; filter?: string[]; approval: string[] }>;
    };
    expect(before.mcp.files).toMatchObject({
      state: "not started",
      transport: "stdio",
      filter: ["read_file", "list_dir"],
      approval: ["write_file"],
    });

    // A real gateway in this process: one turn of ops needs its MCP servers.
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0 }
providers:
  local: { kind: openai-compatible, base_url: "${stub.url}" }
agents:
  main: {}
  ops:
    model: { provider: local, name: m }
    mcp:
      files: { command: node, args: ["${SERVER}"], tools: [read_file, list_dir], approval: [write_file] }
`,
    );
    gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
    const ready = async () =>
      ((await (await fetch(`${gw.url}/health/ready`)).json()) as { mcp: Record<string, unknown> }).mcp;
    expect(await ready()).toEqual({ ops: { files: { state: "not started" } } });
    const client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: "ops",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(answer.choices[0]!.message.content).toBe("stub: hi");

    const during = JSON.parse(cli(["agent", "show", "ops", "--home", home, "--json"]).stdout) as {
      mcp: Record<string, { state: string; tools: string[]; pid: number }>;
    };
    expect(during.mcp.files!.state).toBe("running");
    expect(during.mcp.files!.tools).toEqual(expect.arrayContaining(["read_file", "write_file", "whoami"]));
    expect(during.mcp.files!.pid).toBeGreaterThan(0);
    // /health/ready lists the same live state per agent.
    expect(await ready()).toEqual({ ops: { files: { state: "running", tools: 6 } } });

    await gw.stop();
    const after = JSON.parse(cli(["agent", "show", "ops", "--home", home, "--json"]).stdout) as {
      mcp: Record<string, { state: string }>;
    };
    expect(after.mcp.files!.state).toBe("stopped");
  });
});
