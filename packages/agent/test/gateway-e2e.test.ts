import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  CronManager,
  CronScheduler,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  readJobs,
  type SessionStore,
} from "@switchboard/core";
import { platform, type StubLlm, startStubLlm, TestAdapter, TestNetwork } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";

/** End to end through the real gateway, the real agent runtime, the test platform and (for personas) the stub LLM. */
interface World {
  home: string;
  net: TestNetwork;
  gateway: GatewayRuntime;
  store: SessionStore;
  stub?: StubLlm;
}
const worlds: World[] = [];

afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.gateway.stop({ timeoutMs: 1000 });
    await w.store.close();
    await w.stub?.close();
    rmSync(w.home, { recursive: true, force: true });
  }
});

async function world(extra: Record<string, unknown> = {}, stub?: StubLlm): Promise<World> {
  const home = mkdtempSync(join(tmpdir(), "sb-e2e-"));
  const config = buildConfig(
    {
      agents: { main: {}, alpha: {}, beta: {} },
      routes: [
        { match: { platform: "test", chat_id: "alpha-chat" }, agent: "alpha" },
        { match: { platform: "test", chat_id: "beta-chat" }, agent: "beta" },
      ],
      platforms: { test: { allow_all_users: true } },
      session: { debounce_s: 0 },
      ...extra,
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const net = new TestNetwork();
  const gateway = createGateway({
    config,
    store,
    runner: createAgentRunner(),
    adapters: [new TestAdapter({ network: net })],
  });
  await gateway.start();
  const w: World = { home, net, gateway, store, ...(stub ? { stub } : {}) };
  worlds.push(w);
  return w;
}

function soul(home: string, agent: string, text: string): void {
  const dir = join(home, "agents", agent);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "SOUL.md"), text);
}

describe("the gateway with the real agent runtime", () => {
  it("answers two agents routed by chat, each with its own SOUL.md persona", async () => {
    const stub = await startStubLlm();
    // The stub answers with the persona line of the system prompt it was given.
    const persona = (
      body: Parameters<Extract<Parameters<StubLlm["script"]>[0], (...a: never[]) => unknown>>[0],
    ) => {
      const system = body.messages.find((m) => m.role === "system");
      const text = typeof system?.content === "string" ? system.content : JSON.stringify(system?.content);
      return { text: (/PERSONA: [^\n]+/.exec(text) ?? ["PERSONA: none"])[0] };
    };
    // One scripted answer per request: the two turns.
    stub.script(persona, persona);
    const w = await world(
      {
        providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
        model: { provider: "stub", name: "stub-model" },
      },
      stub,
    );
    soul(w.home, "alpha", "PERSONA: Alpha the archivist\n");
    soul(w.home, "beta", "PERSONA: Beta the builder\n");
    await w.net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "who are you?" });
    await w.net.inject({ chatType: "group", chatId: "beta-chat", userId: "u1", text: "who are you?" });
    expect((await w.net.waitForSent((m) => m.chatId === "alpha-chat")).text).toBe(
      "PERSONA: Alpha the archivist",
    );
    expect((await w.net.waitForSent((m) => m.chatId === "beta-chat")).text).toBe("PERSONA: Beta the builder");
    await w.gateway.idle();
    const keys = (await w.store.list({ includeEnded: true })).map((s) => s.sessionKey).sort();
    expect(keys).toEqual(["agent:alpha:test:group:alpha-chat:u1", "agent:beta:test:group:beta-chat:u1"]);
  });

  it("/new starts a new session id and /agent explains the route", async () => {
    const w = await world();
    await w.net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "hello" });
    expect((await w.net.waitForSent((m) => m.text.includes("hello"))).text).toBe("[alpha] hello");
    await w.gateway.idle();
    const first = (await w.store.findActive("agent:alpha:test:group:alpha-chat:u1"))!.id;
    await w.net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "/new" });
    await w.net.waitForSent((m) => m.text.startsWith("Started a new session"));
    expect((await w.store.findActive("agent:alpha:test:group:alpha-chat:u1"))!.id).not.toBe(first);
    await w.net.inject({ chatType: "group", chatId: "alpha-chat", userId: "u1", text: "/agent" });
    expect((await w.net.waitForSent((m) => m.text.includes("served by"))).text).toMatch(
      /agent "alpha": routes\[0\] matched: platform=test, chat_id=alpha-chat/,
    );
  });

  it("gives the cron tool only the calling agent's jobs, with the chat as origin", async () => {
    const w = await world();
    const manager = new CronManager({ config: () => w.gateway.config, router: () => w.gateway.router });
    w.gateway.setCron(manager);
    await w.net.inject({
      chatType: "group",
      chatId: "alpha-chat",
      userId: "u1",
      text: '[[tool:cron_create {"schedule":"every 1h","prompt":"hourly report"}]]',
    });
    const created = await w.net.waitForSent((m) => m.text.includes("cron_create"));
    expect(created.text).toContain("hourly report");
    const jobs = readJobs(join(w.home, "agents", "alpha", "cron"));
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.origin).toMatchObject({ platform: "test", chatId: "alpha-chat" });
    expect(readJobs(join(w.home, "agents", "beta", "cron"))).toEqual([]);

    await w.net.inject({
      chatType: "group",
      chatId: "beta-chat",
      userId: "u1",
      text: "[[tool:cron_list {}]]",
    });
    expect(
      (await w.net.waitForSent((m) => m.chatId === "beta-chat" && m.text.includes("cron_list"))).text,
    ).toContain('"jobs":[]');
    await w.net.inject({
      chatType: "group",
      chatId: "beta-chat",
      userId: "u1",
      text: `[[tool:cron_remove {"job_id":"${jobs[0]!.id}"}]]`,
    });
    await w.net.waitForSent((m) => m.chatId === "beta-chat" && m.text.includes("cron_remove"));
    expect(readJobs(join(w.home, "agents", "alpha", "cron"))).toHaveLength(1);

    // Beta cannot aim a job at alpha's chat either.
    await w.net.inject({
      chatType: "group",
      chatId: "beta-chat",
      userId: "u1",
      text: '[[tool:cron_create {"schedule":"1h","prompt":"x","deliver":"test:alpha-chat"}]]',
    });
    expect(
      (await w.net.waitForSent((m) => m.chatId === "beta-chat" && m.text.includes("cron_create failed")))
        .text,
    ).toContain("routes to");

    // When it runs, alpha's job is delivered back to the chat it was created from.
    const scheduler = new CronScheduler({
      gateway: w.gateway,
      manager,
      leases: w.store.leases,
      now: () => jobs[0]!.nextRunAt!,
    });
    const [r] = await scheduler.tick();
    expect(r).toMatchObject({ agentId: "alpha", status: "ok", delivered: true });
    expect(
      (await w.net.waitForSent((m) => m.chatId === "alpha-chat" && m.text === "[alpha] hourly report"))
        .chatId,
    ).toBe("alpha-chat");
    expect(readFileSync(r!.outputFile!, "utf8")).toContain("[alpha] hourly report");
  });
});
