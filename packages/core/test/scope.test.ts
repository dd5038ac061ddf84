import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AgentProfile } from "../src/agents.ts";
import { type GatewayConfig, loadConfig } from "../src/config/load.ts";
import {
  agentHome,
  cronDir,
  currentAgent,
  memoryDir,
  secret,
  secretHint,
  setRootAgent,
  skillsDir,
  useAgent,
} from "../src/scope.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const immediate = () => new Promise<void>((r) => setImmediate(r));

let root: string;
let config: GatewayConfig;
const agent = (id: string): AgentProfile => config.registry.get(id)!;

const PROCESS_SECRET = "SB_SCOPE_TEST_PROCESS_SECRET";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "sb-scope-"));
  process.env[PROCESS_SECRET] = "from-process";
  writeFileSync(
    join(root, ".env"),
    "OPENAI_API_KEY=root-openai\nROOT_ONLY=root-only\nD_TOKEN=d-from-root-env\n",
  );
  const ids = Array.from({ length: 9 }, (_, i) => `a${i}`);
  const yaml = [
    "agents:",
    "  main: {}",
    ...ids.map((id) => `  ${id}: {}`),
    "  own: {}",
    "  inherits: { secrets: inherit }",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
    "  mapped: { env: { OPENAI_API_KEY: d-key, TOKEN: '${D_TOKEN}' } }",
    "  filed: { env: { OPENAI_API_KEY: from-map, MAP_ONLY: map-only } }",
    "  elsewhere: { home: ./custom/elsewhere }",
  ].join("\n");
  writeFileSync(join(root, "config.yaml"), yaml);
  for (const id of ids) {
    mkdirSync(join(root, "agents", id), { recursive: true });
    writeFileSync(join(root, "agents", id, ".env"), `AGENT_TOKEN=${id}-token\n`);
  }
  mkdirSync(join(root, "agents", "filed"), { recursive: true });
  writeFileSync(join(root, "agents", "filed", ".env"), "OPENAI_API_KEY=filed-key\nFILED_ONLY=x\nEMPTY=\n");
  mkdirSync(join(root, "custom", "elsewhere"), { recursive: true });
  writeFileSync(join(root, "custom", "elsewhere", ".env"), "OPENAI_API_KEY=elsewhere-key\n");
  config = await loadConfig({ home: root, env: { ...process.env } });
});
afterAll(() => {
  delete process.env[PROCESS_SECRET];
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => setRootAgent(undefined));

describe("agent scope", () => {
  it("resolves agent homes: main at the root, others under agents/<id> or their configured home", () => {
    expect(agent("main").home).toBe(root);
    expect(agent("a3").home).toBe(join(root, "agents", "a3"));
    expect(agent("elsewhere").home).toBe(join(root, "custom", "elsewhere"));
    useAgent(agent("a3"), () => {
      expect(agentHome()).toBe(join(root, "agents", "a3"));
      expect(memoryDir()).toBe(join(root, "agents", "a3", "memories"));
      expect(skillsDir()).toBe(join(root, "agents", "a3", "skills"));
      expect(cronDir()).toBe(join(root, "agents", "a3", "cron"));
    });
  });

  it("falls back to the root agent outside any scope and restores the outer scope after a nested one", () => {
    expect(currentAgent()).toBeUndefined();
    setRootAgent(agent("main"));
    expect(agentHome()).toBe(root);
    expect(secret("ROOT_ONLY")).toBe("root-only");
    useAgent(agent("a1"), () => {
      useAgent(agent("a2"), () => expect(currentAgent()!.id).toBe("a2"));
      expect(currentAgent()!.id).toBe("a1");
      expect(memoryDir()).toBe(join(root, "agents", "a1", "memories"));
    });
    expect(currentAgent()).toBeUndefined();
  });

  it("keeps 1,000 concurrent tasks over 10 agents each in its own scope across awaits, timers, streams and Promise.all", async () => {
    const ids = ["main", ...Array.from({ length: 9 }, (_, i) => `a${i}`)];
    const violations: string[] = [];
    let checks = 0;
    const check = (id: string, where: string) => {
      checks++;
      const home = id === "main" ? root : join(root, "agents", id);
      const token = id === "main" ? undefined : `${id}-token`;
      const got = currentAgent()?.id;
      if (got !== id) violations.push(`${where}: expected ${id}, saw ${got}`);
      if (agentHome() !== home) violations.push(`${where}: ${id} saw home ${agentHome()}`);
      if (memoryDir() !== join(home, "memories"))
        violations.push(`${where}: ${id} saw memories ${memoryDir()}`);
      if (secret("AGENT_TOKEN") !== token)
        violations.push(`${where}: ${id} saw AGENT_TOKEN ${secret("AGENT_TOKEN")}`);
    };

    const task = (n: number) => {
      const id = ids[n % ids.length]!;
      return useAgent(agent(id), async () => {
        check(id, "start");
        await sleep(n % 7);
        check(id, "after setTimeout");
        await immediate();
        check(id, "after setImmediate");
        await new Promise<void>((r) => process.nextTick(r));
        check(id, "after nextTick");
        await Promise.all(
          [3, 1, 2].map(async (ms) => {
            await sleep((ms * n) % 5);
            check(id, "inside Promise.all");
          }),
        );
        // A stream whose chunks arrive on timers, piped through a transform and read with events.
        let index = 0;
        const source = new Readable({
          read() {
            setTimeout(() => {
              check(id, "in Readable.read");
              this.push(index < 3 ? `${id}:${index++}` : null);
            }, n % 3);
          },
        });
        const seen: string[] = [];
        await pipeline(
          source,
          new Transform({
            transform(chunk, _enc, done) {
              check(id, "in Transform");
              setImmediate(() => done(null, chunk));
            },
          }),
          async (chunks: AsyncIterable<unknown>) => {
            for await (const c of chunks) {
              check(id, "in for await over a stream");
              seen.push(String(c));
            }
          },
        );
        if (seen.join(",") !== `${id}:0,${id}:1,${id}:2`) violations.push(`${id} read ${seen.join(",")}`);
        await new Promise<void>((resolve) => {
          const r = Readable.from([1, 2]);
          r.on("data", () => check(id, "in a data event"));
          r.on("end", resolve);
        });
        check(id, "end");
        return id;
      });
    };

    const results = await Promise.all(Array.from({ length: 1000 }, (_, n) => task(n)));
    expect(violations.slice(0, 5)).toEqual([]);
    expect(results.filter((id) => id === "a4")).toHaveLength(100);
    expect(checks).toBeGreaterThan(1000 * 15);
    expect(currentAgent()).toBeUndefined();
  }, 60_000);
});

describe("secrets fail closed", () => {
  it("never finds agent B's missing key through the process environment or main's root .env", () => {
    useAgent(agent("own"), () => {
      expect(secret("OPENAI_API_KEY")).toBeUndefined();
      expect(secret("ROOT_ONLY")).toBeUndefined();
      expect(secret(PROCESS_SECRET)).toBeUndefined();
      expect(secret("PATH")).toBeUndefined();
    });
  });

  it("gives main the root .env and the process environment", () => {
    useAgent(agent("main"), () => {
      expect(secret("OPENAI_API_KEY")).toBe("root-openai");
      expect(secret("ROOT_ONLY")).toBe("root-only");
      expect(secret(PROCESS_SECRET)).toBe("from-process");
    });
  });

  it("lets an agent with secrets: inherit use the root .env and the process environment", () => {
    useAgent(agent("inherits"), () => {
      expect(secret("OPENAI_API_KEY")).toBe("root-openai");
      expect(secret(PROCESS_SECRET)).toBe("from-process");
    });
  });

  it("reads an agent's env: map, interpolated at load", () => {
    useAgent(agent("mapped"), () => {
      expect(secret("OPENAI_API_KEY")).toBe("d-key");
      expect(secret("TOKEN")).toBe("d-from-root-env");
      expect(secret("ROOT_ONLY")).toBeUndefined();
    });
  });

  it("reads the agent's own .env first, then its env: map, and treats an empty value as missing", () => {
    useAgent(agent("filed"), () => {
      expect(secret("OPENAI_API_KEY")).toBe("filed-key");
      expect(secret("MAP_ONLY")).toBe("map-only");
      expect(secret("EMPTY")).toBeUndefined();
    });
    useAgent(agent("elsewhere"), () => expect(secret("OPENAI_API_KEY")).toBe("elsewhere-key"));
    // And the other way round: main never sees another agent's .env.
    useAgent(agent("main"), () => expect(secret("FILED_ONLY")).toBeUndefined());
  });

  it("picks up a changed agent .env without a restart", () => {
    const file = join(root, "agents", "a8", ".env");
    useAgent(agent("a8"), () => expect(secret("ROTATED")).toBeUndefined());
    writeFileSync(file, "AGENT_TOKEN=a8-token\nROTATED=new-value-after-rotation\n");
    useAgent(agent("a8"), () => expect(secret("ROTATED")).toBe("new-value-after-rotation"));
  });

  it("tells the user where a missing secret belongs", () => {
    expect(secretHint("OPENAI_API_KEY", agent("own"))).toBe(
      `set OPENAI_API_KEY in ${join(root, "agents", "own", ".env")} (agent "own" does not inherit main's secrets; or set agents.own.secrets: inherit)`,
    );
    expect(secretHint("OPENAI_API_KEY", agent("main"))).toBe(
      `set OPENAI_API_KEY in ${join(root, ".env")} or the environment`,
    );
  });
});
