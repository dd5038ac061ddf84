import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../src/config/load.ts";
import { platformCommonSchema } from "../src/config/schema.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";
import type { PlatformDefinition } from "../src/platform.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "sb-forgive-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const telegram: PlatformDefinition = {
  name: "telegram",
  configSchema: platformCommonSchema
    .extend({ token: z.string().min(1), home_chat: z.string().optional(), timeout_s: z.number().optional() })
    .strict(),
  create: () => {
    throw new Error("not used");
  },
};

function load(yaml: string, env: Record<string, string> = {}, platforms = {}) {
  writeFileSync(join(home, "config.yaml"), yaml);
  return loadConfig({ home, env, platforms });
}
async function issuesOf(
  yaml: string,
  env: Record<string, string> = {},
  platforms = {},
): Promise<ConfigIssue[]> {
  try {
    await load(yaml, env, platforms);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

describe(`\${VAR} interpolation fills numbers and booleans`, () => {
  it(`coerces a port from \${PORT:-8642} and from the environment`, async () => {
    const yaml = `api_server:\n  port: \${PORT:-8642}\n  enabled: \${API_ON:-true}\n`;
    expect((await load(yaml)).api_server).toMatchObject({ port: 8642, enabled: true });
    expect((await load(yaml, { PORT: "9001", API_ON: "false" })).api_server).toMatchObject({
      port: 9001,
      enabled: false,
    });
  });

  it("coerces inside an adapter's section too", async () => {
    const cfg = await load(
      `platforms:\n  telegram:\n    token: t\n    timeout_s: \${T:-30}\n`,
      {},
      { telegram },
    );
    expect(cfg.platformAccounts.get("telegram")!.get("default")).toMatchObject({ timeout_s: 30 });
  });

  it("still rejects a value that is not a number", async () => {
    const issues = await issuesOf(`api_server:\n  port: \${PORT:-eighty}\n`);
    expect(issues.map((i) => i.path)).toEqual(["api_server.port"]);
  });
});

describe("unquoted numeric ids are the strings they mean", () => {
  it("in route matches, single and in lists", async () => {
    const cfg = await load(
      "agents: { ops: {} }\nroutes:\n  - match: { platform: telegram, chat_id: -1001234, user_id: [12345, '678'] }\n    agent: ops\n",
    );
    expect(cfg.routes[0]!.match).toEqual({
      platform: "telegram",
      chat_id: "-1001234",
      user_id: ["12345", "678"],
    });
  });

  it("in allowed_users and in adapter keys that hold ids", async () => {
    const cfg = await load(
      "platforms:\n  telegram:\n    token: t\n    home_chat: -1009\n    allowed_users: [12345]\n",
      {},
      { telegram },
    );
    expect(cfg.platformAccounts.get("telegram")!.get("default")).toMatchObject({
      home_chat: "-1009",
      allowed_users: ["12345"],
    });
  });
});

describe("unknown keys get a suggestion", () => {
  it("did you mean default_agent", async () => {
    const issues = await issuesOf("defualt_agent: main\n");
    expect(issues).toEqual([
      { path: "defualt_agent", message: 'unknown key; did you mean "default_agent"?' },
    ]);
  });

  it("deep keys, match keys and adapter keys", async () => {
    const issues = await issuesOf(
      "api_server: { prot: 1 }\nroutes:\n  - { match: { chat_idd: '1' }, agent: main }\n",
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath["api_server.prot"]).toContain('did you mean "port"?');
    expect(byPath["routes[0].match.chat_idd"]).toContain('did you mean "chat_id"?');
    const adapter = await issuesOf("platforms:\n  telegram: { token: t, home_chta: x }\n", {}, { telegram });
    expect(adapter).toEqual([
      { path: "platforms.telegram.home_chta", message: 'unknown key; did you mean "home_chat"?' },
    ]);
  });

  it("no suggestion when nothing is close", async () => {
    const issues = await issuesOf("zzzzzzzz: 1\n");
    expect(issues[0]!.message).toBe("unknown key");
  });

  it("a platform section at the top level points to platforms:", async () => {
    const issues = await issuesOf("telegram:\n  token: x\n");
    expect(issues).toEqual([
      { path: "telegram", message: expect.stringContaining("belongs under platforms:") },
    ]);
  });
});

describe("agent homes may not overlap", () => {
  it("two agents on the same folder name both", async () => {
    const issues = await issuesOf("agents:\n  a: { home: /tmp/sb-shared }\n  b: { home: /tmp/sb-shared }\n");
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("agents.b.home");
    expect(issues[0]!.message).toMatch(/agents "b" and "a"/);
  });

  it("a non-main agent pointed at the root home", async () => {
    const issues = await issuesOf(`agents:\n  ops: { home: ${home} }\n`);
    expect(issues.map((i) => i.path)).toEqual(["agents.ops.home"]);
    expect(issues[0]!.message).toMatch(/"ops" and "main"/);
  });

  it("a nested home, and one inside main's own folders", async () => {
    const nested = await issuesOf("agents:\n  a: { home: /tmp/sb-x }\n  b: { home: /tmp/sb-x/inner }\n");
    expect(nested[0]!.message).toMatch(/"b" and "a"/);
    const inMain = await issuesOf("agents:\n  a: { home: ./memories/a }\n");
    expect(inMain[0]!.message).toMatch(/"a" and "main"/);
  });

  it("every clashing pair among many agents, in the order the agents are listed", async () => {
    const fine = Array.from({ length: 300 }, (_, i) => `  f${i}: {}\n`).join("");
    const issues = await issuesOf(
      `agents:\n  x: { home: /tmp/sb-o/p }\n${fine}  y: { home: /tmp/sb-o }\n  z: { home: /tmp/sb-o/p/q }\n  w: { home: /tmp/sb-o/p }\n  m: { home: ./skills/m }\n`,
    );
    expect(
      issues.map((i) => [i.path, /agents "(\w+)" and "(\w+)"/.exec(i.message)!.slice(1).join(">")]),
    ).toEqual([
      ["agents.x.home", "x>y"],
      ["agents.z.home", "z>x"],
      ["agents.w.home", "w>x"],
      ["agents.z.home", "z>y"],
      ["agents.w.home", "w>y"],
      ["agents.z.home", "z>w"],
      ["agents.m.home", "m>main"],
    ]);
    expect(issues[2]!.message).toMatch(/is the same folder as/);
  });

  it("default homes under <root>/agents and a custom folder in the root are fine", async () => {
    const cfg = await load("agents:\n  a: {}\n  b: { home: ./teams/b }\n");
    expect(cfg.registry.ids()).toEqual(["a", "b", "main"]);
  });
});
