import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CronManager, CronScheduler, type OutboundMessage } from "@switchboard/core";
import type { StubChatRequest, StubResponse } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_MODEL, localProvider, startWorld, type World } from "./gateway-world.ts";
import { STDIO_SERVER } from "./mcp-helpers.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The model asks to write a file through the MCP server, then reports what the tool said. */
function writeTurn(path = "out.txt"): StubResponse[] {
  const step = (body: StubChatRequest): StubResponse => {
    const last = body.messages.at(-1);
    if (last?.role === "tool") return { text: `tool said: ${String(last.content)}` };
    return { toolCalls: [{ name: "write_file", arguments: { path, content: "approved content" } }] };
  };
  return [step, step];
}

async function opsWorld(extra: { timeoutS?: number; admins?: Array<string | number> } = {}): Promise<World> {
  world = await startWorld(({ stubUrl }) => ({
    providers: localProvider(stubUrl),
    agents: {
      main: {},
      ops: {
        model: LOCAL_MODEL,
        mcp: { files: { command: "node", args: [STDIO_SERVER], approval: ["write_file"] } },
        ...(extra.timeoutS ? { approval_timeout_s: extra.timeoutS } : {}),
      },
    },
    routes: [{ match: { platform: "test", chat_id: "ops-chat" }, agent: "ops" }],
    platforms: { test: { allow_all_users: true, ...(extra.admins ? { admins: extra.admins } : {}) } },
  }));
  return world;
}

const opsFile = (w: World, name = "out.txt") => join(w.home, "agents", "ops", name);

async function promptOf(
  w: World,
): Promise<{ id: string; text: string; actions: OutboundMessage["actions"] }> {
  const sent = await w.net.waitForSent((m) => m.text.includes("wants to run"), 10_000);
  const id = /\/approve ([0-9a-f]{6})/.exec(sent.text)![1]!;
  const message = (sent.raw as { message: OutboundMessage }).message;
  return { id, text: sent.text, actions: message.actions };
}

describe("approvals in chat (test platform)", () => {
  it("posts the proposed call with buttons, waits, and runs it after /approve from the user", async () => {
    const w = await opsWorld();
    w.stub.script(...writeTurn());
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: "write the file" });
    const prompt = await promptOf(w);
    expect(prompt.text).toContain(
      'Agent "ops" wants to run write_file {"path":"out.txt","content":"approved content"}',
    );
    expect(prompt.actions).toEqual([
      { label: "Approve", command: `/approve ${prompt.id}`, style: "primary" },
      { label: "Deny", command: `/deny ${prompt.id}`, style: "danger" },
    ]);
    expect(existsSync(opsFile(w))).toBe(false);
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: `/approve ${prompt.id}` });
    await w.net.waitForSent((m) => m.text.startsWith("✅ Approved: write_file"));
    await w.net.waitForSent((m) => m.text.startsWith("tool said: wrote out.txt"), 10_000);
    expect(readFileSync(opsFile(w), "utf8")).toBe("approved content");
    expect(await w.store.audit.list({ action: "approval.approve" })).toEqual([
      expect.objectContaining({
        actor: "test:u1",
        target: "ops/write_file",
        detail: expect.objectContaining({ approval_id: prompt.id }),
      }),
    ]);
  });

  it("does not run the call after /deny, and the model is told", async () => {
    const w = await opsWorld();
    w.stub.script(...writeTurn());
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: "write the file" });
    await promptOf(w);
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: "/deny too risky" });
    await w.net.waitForSent((m) => m.text.startsWith("🚫 Denied: write_file"));
    const reply = await w.net.waitForSent((m) => m.text.startsWith("tool said:"), 10_000);
    expect(reply.text).toContain("write_file was not run: denied by test:u1: too risky");
    expect(existsSync(opsFile(w))).toBe(false);
  });

  it("lets only the user who asked or an admin answer", async () => {
    const w = await opsWorld({ admins: ["boss"] });
    w.stub.script(...writeTurn());
    await w.net.inject({ chatId: "ops-chat", chatType: "group", userId: "u1", text: "write the file" });
    const prompt = await promptOf(w);
    await w.net.inject({
      chatId: "ops-chat",
      chatType: "group",
      userId: "stranger",
      text: `/approve ${prompt.id}`,
    });
    await w.net.waitForSent((m) => m.text === "Only the user who asked, or an admin, may answer this.");
    expect(existsSync(opsFile(w))).toBe(false);
    await w.net.inject({
      chatId: "ops-chat",
      chatType: "group",
      userId: "boss",
      text: `/approve ${prompt.id}`,
    });
    await w.net.waitForSent((m) => m.text.startsWith("tool said: wrote out.txt"), 10_000);
    expect(existsSync(opsFile(w))).toBe(true);
  });

  it("takes an admin id written as a YAML number (admins: [4242])", async () => {
    const w = await opsWorld({ admins: [4242] });
    w.stub.script(...writeTurn());
    await w.net.inject({ chatId: "ops-chat", chatType: "group", userId: "u1", text: "write the file" });
    const prompt = await promptOf(w);
    await w.net.inject({
      chatId: "ops-chat",
      chatType: "group",
      userId: "4242",
      text: `/approve ${prompt.id}`,
    });
    await w.net.waitForSent((m) => m.text.startsWith("tool said: wrote out.txt"), 10_000);
    expect(existsSync(opsFile(w))).toBe(true);
  });

  it("denies when nobody answers within approval_timeout_s, and says so in the chat", async () => {
    const w = await opsWorld({ timeoutS: 0.3 });
    w.stub.script(...writeTurn());
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: "write the file" });
    const prompt = await promptOf(w);
    await w.net.waitForSent(
      (m) => m.text === `⌛ write_file (${prompt.id}) was denied: no answer within 0.3 s.`,
    );
    const reply = await w.net.waitForSent((m) => m.text.startsWith("tool said:"), 10_000);
    expect(reply.text).toContain("nobody approved it in time");
    expect(existsSync(opsFile(w))).toBe(false);
    // A late answer finds nothing.
    await w.net.inject({ chatId: "ops-chat", chatType: "dm", userId: "u1", text: `/approve ${prompt.id}` });
    await w.net.waitForSent((m) => m.text === `Nothing with id ${prompt.id} is waiting for approval here.`);
  });

  it("never waits in a cron run: the call is denied and the job output says so", async () => {
    const w = await opsWorld();
    const manager = new CronManager({ config: () => w.gateway.config, router: () => w.gateway.router });
    w.gateway.setCron(manager);
    const scheduler = new CronScheduler({ gateway: w.gateway, manager, leases: w.store.leases });
    const job = (await manager.create("ops", {
      schedule: "every 1h",
      prompt: "write the file",
      deliver: "local",
    })) as {
      id: string;
    };
    w.stub.script(...writeTurn());
    const started = Date.now();
    const result = await scheduler.runNow("ops", job.id);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.status).toBe("ok");
    expect(result.text).toContain("write_file was not run: scheduled (cron) runs never wait for approval");
    expect(result.text).toContain("⚠️ Not run: write_file — it needs a human's approval");
    expect(readFileSync(result.outputFile!, "utf8")).toContain("⚠️ Not run: write_file");
    expect(existsSync(opsFile(w))).toBe(false);
    expect(w.gateway.approvals.pending()).toHaveLength(0);
  });
});
