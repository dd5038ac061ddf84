import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyRing } from "@switchboard/api-server";
import { memoryLogger, openSessionStore, sqliteDatabase } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";
import { cli } from "./cli-helpers.ts";

const homes: string[] = [];
const gateways: RunningGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.stop();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-operate-cli-"));
  homes.push(dir);
  writeFileSync(join(dir, "config.yaml"), config);
  return dir;
}

const BASE = `api_server:
  port: 0
  keys:
    - { key: "sk-admin-0123456789", name: ops, admin: true }
agents:
  main: {}
`;

describe("the audit log", () => {
  it("records a config reload with a diff of paths (no secret values) and a budget change", async () => {
    const dir = home(BASE);
    const gw = await startGateway({ home: dir, logger: memoryLogger(), watchConfig: false });
    gateways.push(gw);
    writeFileSync(
      join(dir, "config.yaml"),
      `${BASE.replace("sk-admin-0123456789", "sk-admin-rotated-9876543210")}  ops:
    budget: { daily: 5000 }
`,
    );
    expect(await gw.reload()).toBe(true);
    const rows = await gw.store.audit.list({});
    const reload = rows.find((r) => r.action === "config.reload")!;
    expect(reload.actor).toBe("config");
    expect(reload.detail).toEqual({ added: ["agents.ops"], removed: [], changed: ["api_server.keys"] });
    expect(JSON.stringify(rows)).not.toContain("sk-admin");
    expect(rows.find((r) => r.action === "budget.change")!.detail).toEqual({ paths: ["agents.ops.budget"] });
    // Append-only: the store refuses to rewrite history.
    expect(() => sqliteDatabase(gw.store).prepare("DELETE FROM audit_log").run()).toThrow(/append-only/);
  });

  it("records API key use once per key per day", async () => {
    const dir = home(BASE);
    const gw = await startGateway({ home: dir, logger: memoryLogger(), watchConfig: false });
    gateways.push(gw);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/v1/models`, {
        headers: { authorization: "Bearer sk-admin-0123456789" },
      });
      expect(res.status).toBe(200);
    }
    const uses = await gw.store.audit.list({ action: "api_key.use" });
    expect(uses).toHaveLength(1);
    const id = new KeyRing(gw.gateway.config.api_server.keys).authenticate("Bearer sk-admin-0123456789").id;
    expect(uses[0]).toMatchObject({ actor: id, target: new Date().toISOString().slice(0, 10) });
  });

  it("records agent edits through the CLI and lists the log with switchboard audit", () => {
    const dir = home(BASE);
    expect(cli(["--home", dir, "agent", "add", "helper"]).status).toBe(0);
    expect(cli(["--home", dir, "agent", "remove", "helper"]).status).toBe(0);
    const out = cli(["--home", dir, "--json", "audit", "--since", "1h"]);
    expect(out.status).toBe(0);
    const rows = JSON.parse(out.stdout) as Array<{ action: string; target: string; actor: string }>;
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ["agent.add", "helper"],
      ["agent.remove", "helper"],
    ]);
    expect(rows[0]!.actor).toMatch(/^cli/);
    const text = cli(["--home", dir, "audit", "--action", "agent.add"]);
    expect(text.stdout).toMatch(/AT\s+ACTOR\s+ACTION\s+TARGET/);
    expect(text.stdout).toContain("agent.add");
    expect(text.stdout).not.toContain("agent.remove");
    expect(cli(["--home", dir, "audit", "--since", "yesterday-ish"]).stderr).toContain(
      "--since yesterday-ish",
    );
  });
});

describe("switchboard usage", () => {
  it("says so for a home that has no state.db yet, and creates none (usage and audit)", () => {
    const dir = home(BASE);
    for (const command of ["usage", "audit"]) {
      const r = cli([command, "--home", dir]);
      expect(r.status, r.stderr).not.toBe(0);
      expect(r.stderr).toContain("state.db does not exist");
      expect(existsSync(join(dir, "state.db"))).toBe(false);
    }
  });

  it("prints usage by agent, user and key as a table and as JSON, filtered", async () => {
    const dir = home(BASE);
    const store = openSessionStore(join(dir, "state.db"));
    const at = Date.now();
    const base = { at, platform: "test", provider: "openai", model: "gpt-4o-mini", cachedTokens: 0 };
    await store.usage.record(
      { ...base, agentId: "main", userId: "ada", inputTokens: 100, outputTokens: 10, costUsd: 0.5 },
      [],
    );
    await store.usage.record(
      { ...base, agentId: "main", keyId: "key:ops", inputTokens: 7, outputTokens: 3, costUsd: 0.25 },
      [],
    );
    await store.usage.record(
      {
        ...base,
        at: at - 10 * 86_400_000,
        agentId: "main",
        userId: "old",
        inputTokens: 1,
        outputTokens: 1,
        costUsd: 0,
      },
      [],
    );
    await store.close();

    const json = cli(["--home", dir, "--json", "usage", "--since", "7d"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        agent: "main",
        user: "ada",
        key: null,
        calls: 1,
        inputTokens: 100,
        outputTokens: 10,
        cachedTokens: 0,
        costUsd: 0.5,
      },
      {
        agent: "main",
        user: null,
        key: "key:ops",
        calls: 1,
        inputTokens: 7,
        outputTokens: 3,
        cachedTokens: 0,
        costUsd: 0.25,
      },
    ]);
    const byKey = cli(["--home", dir, "usage", "--key", "key:ops", "--by", "agent,key"]);
    expect(byKey.stdout.split("\n")[0]).toMatch(/^AGENT\s+KEY\s+CALLS\s+INPUT\s+OUTPUT\s+CACHED\s+COST USD$/);
    expect(byKey.stdout).toMatch(/main\s+key:ops\s+1\s+7\s+3\s+0\s+0\.2500/);
    expect(byKey.stdout).not.toContain("ada");
  });
});

describe("metrics.listen", () => {
  it("serves /metrics without a key on its own address", async () => {
    const dir = home(`${BASE}metrics: { listen: "127.0.0.1:0" }\n`);
    const logger = memoryLogger();
    const gw = await startGateway({ home: dir, logger, watchConfig: false });
    gateways.push(gw);
    const line = logger.entries.find((l) => l.msg.startsWith("metrics on "))!;
    const res = await fetch(String((line.obj as { url: string }).url));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("# TYPE switchboard_turns_total counter");
    // On the API listener it needs the admin key.
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
  });

  it("cuts a request that trickles in on the metrics address, as on the main listener", async () => {
    const dir = home(
      BASE.replace("  port: 0\n", "  port: 0\n  request_timeout_s: 1\n") +
        `metrics: { listen: "127.0.0.1:0" }\n`,
    );
    const logger = memoryLogger();
    const gw = await startGateway({ home: dir, logger, watchConfig: false });
    gateways.push(gw);
    const u = new URL(
      String((logger.entries.find((l) => l.msg.startsWith("metrics on "))!.obj as { url: string }).url),
    );
    const socket = connect(Number(u.port), u.hostname);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const started = Date.now();
    let answer = "";
    socket.on("data", (d) => (answer += d));
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - started)));
    socket.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write("a");
    }, 200);
    try {
      const elapsed = await Promise.race([
        closed,
        new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 8000)),
      ]);
      expect(elapsed).toBeLessThan(8000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});
