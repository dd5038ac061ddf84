import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildConfig, ConfigError } from "@switchboard/core";
import { platform, type StubChatRequest, type StubResponse } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_MODEL, localProvider, startWorld, type World } from "./gateway-world.ts";
import { STDIO_SERVER, writeEnv } from "./mcp-helpers.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const text = (content: unknown) => (typeof content === "string" ? content : JSON.stringify(content));

/** Each agent's model: `delegate <agent>: <task>` delegates, `read <file>` reads through MCP, else it answers. */
const responder = (body: StubChatRequest): StubResponse => {
  const system = text(body.messages.find((m) => m.role === "system")?.content ?? "");
  const id = /PERSONA: (\w+)/.exec(system)?.[1] ?? "unknown";
  const last = body.messages.at(-1)!;
  if (last.role === "tool") return { text: `${id} got: ${text(last.content)}` };
  const user = text([...body.messages].reverse().find((m) => m.role === "user")?.content ?? "");
  const d = /^delegate (\w+): ([\s\S]*)$/.exec(user);
  if (d) return { toolCalls: [{ name: "delegate", arguments: { agent: d[1], task: d[2] } }] };
  if (user.startsWith("read "))
    return { toolCalls: [{ name: "read_file", arguments: { path: user.slice(5) } }] };
  if (user.startsWith("write "))
    return { toolCalls: [{ name: "write_file", arguments: { path: user.slice(6), content: `by ${id}` } }] };
  return { text: `${id} did: ${user}` };
};

const AGENTS = ["boss", "worker", "helper", "deep"] as const;

async function delegationWorld(): Promise<World> {
  world = await startWorld(({ stubUrl, home }) => {
    for (const id of AGENTS) {
      const dir = join(home, "agents", id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "SOUL.md"), `PERSONA: ${id} secret-persona-${id}\n`);
      writeFileSync(join(dir, "notes.txt"), `${id} notes`);
      writeEnv(dir, { LLM_KEY: `${id}-key` });
    }
    return {
      providers: localProvider(stubUrl, { api_key_env: "LLM_KEY" }),
      agents: {
        main: {},
        boss: { model: LOCAL_MODEL, delegate_to: ["worker"] },
        worker: {
          model: LOCAL_MODEL,
          delegate_to: ["helper", "boss"],
          mcp: {
            files: {
              command: "node",
              args: [STDIO_SERVER],
              tools: ["read_file", "write_file"],
              approval: ["write_file"],
            },
          },
        },
        helper: { model: LOCAL_MODEL, delegate_to: ["deep"] },
        deep: { model: LOCAL_MODEL },
      },
      routes: [{ match: { platform: "test", chat_id: "boss-chat" }, agent: "boss" }],
      platforms: { test: { allow_all_users: true } },
    };
  });
  world.stub.script(...Array.from({ length: 40 }, () => responder));
  return world;
}

async function ask(w: World, message: string): Promise<string> {
  await w.net.inject({ chatId: "boss-chat", chatType: "dm", userId: "u1", text: message });
  return (await w.net.waitForSent((m) => m.text.startsWith("boss "), 15_000)).text;
}

function requestsOf(w: World, id: string): number[] {
  return w.stub.requests.flatMap((r, i) =>
    text(r.messages.find((m) => m.role === "system")?.content ?? "").includes(`PERSONA: ${id}`) ? [i] : [],
  );
}

describe("delegation between agents", () => {
  it("runs the target's turn in its own scope and returns only its answer, stored as a linked session", async () => {
    const w = await delegationWorld();
    const reply = await ask(w, "delegate worker: read notes.txt");
    // The worker's MCP server ran in the worker's home, not the boss's.
    expect(reply).toContain("worker got: worker notes");
    expect(reply).not.toContain("boss notes");
    // Each agent called the model with its own key.
    for (const i of requestsOf(w, "worker"))
      expect(w.stub.requestHeaders[i]!.authorization).toBe("Bearer worker-key");
    for (const i of requestsOf(w, "boss"))
      expect(w.stub.requestHeaders[i]!.authorization).toBe("Bearer boss-key");
    expect(requestsOf(w, "worker").length).toBe(2);
    // What came back to the boss's model: the answer, never the worker's prompt, tools or key.
    const bossFollowUp = JSON.stringify(w.stub.requests[requestsOf(w, "boss").at(-1)!]!.messages);
    expect(bossFollowUp).toContain("worker got: worker notes");
    expect(bossFollowUp).not.toContain("secret-persona-worker");
    expect(bossFollowUp).not.toContain("worker-key");
    expect(JSON.stringify(w.stub.requests[requestsOf(w, "boss")[0]!]!.tools)).not.toContain("read_file");
    // The delegated turn is its own session, linked to the caller's.
    const bossSession = (await w.store.list({ agentId: "boss" }))[0]!;
    const children = await w.store.children(bossSession.id);
    expect(children).toHaveLength(1);
    expect(children[0]!.agentId).toBe("worker");
    expect(children[0]!.sessionKey).toMatch(/^agent:worker:delegate:/);
    expect(await w.store.parentOf(children[0]!.id)).toBe(bossSession.id);
    await w.gateway.idle();
    expect((await w.store.history(children[0]!.id)).map((m) => [m.role, m.content])).toEqual([
      ["user", "read notes.txt"],
      ["assistant", "worker got: worker notes"],
    ]);
  });

  it("refuses a target the caller does not list under delegate_to", async () => {
    const w = await delegationWorld();
    const reply = await ask(w, "delegate helper: hi");
    expect(reply).toContain('agent "boss" may not delegate to "helper" (allowed: worker)');
    expect(requestsOf(w, "helper")).toHaveLength(0);
  });

  it("refuses a delegation that would loop back to an agent already in the chain", async () => {
    const w = await delegationWorld();
    const reply = await ask(w, "delegate worker: delegate boss: hi");
    expect(reply).toContain("would loop: boss → worker → boss");
    expect(requestsOf(w, "boss")).toHaveLength(2);
  });

  it("refuses past delegation.max_depth (default 2)", async () => {
    const w = await delegationWorld();
    const reply = await ask(w, "delegate worker: delegate helper: delegate deep: hi");
    expect(reply).toContain("delegation is limited to 2 levels");
    expect(requestsOf(w, "helper")).toHaveLength(2);
    expect(requestsOf(w, "deep")).toHaveLength(0);
  });

  it("asks the human of the calling chat to approve a tool of the delegated turn", async () => {
    const w = await delegationWorld();
    await w.net.inject({
      chatId: "boss-chat",
      chatType: "dm",
      userId: "u1",
      text: "delegate worker: write out.txt",
    });
    const prompt = await w.net.waitForSent((m) => m.text.includes("wants to run write_file"), 15_000);
    expect(prompt.chatId).toBe("boss-chat");
    expect(prompt.text).toContain('Agent "worker" (asked by "boss") wants to run write_file');
    const id = /\/approve ([0-9a-f]{6})/.exec(prompt.text)![1]!;
    await w.net.inject({ chatId: "boss-chat", chatType: "dm", userId: "u1", text: `/approve ${id}` });
    const reply = await w.net.waitForSent((m) => m.text.startsWith("boss got:"), 15_000);
    expect(reply.text).toContain("worker got: wrote out.txt");
    expect(readFileSync(join(w.home, "agents", "worker", "out.txt"), "utf8")).toBe("by worker");
    expect(existsSync(join(w.home, "agents", "boss", "out.txt"))).toBe(false);
  });

  it("rejects delegate_to naming an unknown agent or the agent itself at config load", () => {
    const load = (agents: Record<string, unknown>) =>
      buildConfig(
        { agents },
        { file: undefined, home: "/tmp/sb-none", env: {}, platforms: { test: platform } },
      );
    expect(() => load({ a: { delegate_to: ["ghost"] } })).toThrow(ConfigError);
    expect(() => load({ a: { delegate_to: ["ghost"] } })).toThrow(
      /agents\.a\.delegate_to\[0\]: agent "ghost" is not defined/,
    );
    expect(() => load({ a: { delegate_to: ["a"] } })).toThrow(/cannot delegate to itself/);
  });
});
