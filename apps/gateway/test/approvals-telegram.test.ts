import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { type StubChatRequest, type StubLlm, type StubResponse, startStubLlm } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

/**
 * The whole app: config file, the real Telegram adapter (grammY) against the fake Bot API, the stub LLM
 * as an openai-compatible provider, and a built-in tool (cron_create) listed under `approval:`.
 */
const home = mkdtempSync(join(tmpdir(), "sb-approve-tg-"));
let fake: FakeTelegram;
let stub: StubLlm;
let gw: RunningGateway;

function createJobTurn(): StubResponse[] {
  const step = (body: StubChatRequest): StubResponse => {
    const last = body.messages.at(-1);
    if (last?.role === "tool") return { text: `tool said: ${String(last.content)}` };
    return {
      toolCalls: [
        { name: "cron_create", arguments: { schedule: "every 1h", prompt: "ping", deliver: "local" } },
      ],
    };
  };
  return [step, step];
}

beforeAll(async () => {
  fake = await FakeTelegram.start([DEFAULT_BOT]);
  stub = await startStubLlm();
  writeFileSync(
    join(home, "config.yaml"),
    `session: { debounce_s: 0 }
api_server: { port: 0 }
providers:
  local: { kind: openai-compatible, base_url: "${stub.url}" }
agents:
  main: {}
  ops:
    model: { provider: local, name: m }
    approval: [cron_create]
routes:
  - match: { platform: telegram, chat_id: "-100500" }
    agent: ops
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${fake.url}
    poll_timeout_s: 1
    allowed_users: ["701", "702", "704"]
    admins: ["702"]
`,
  );
  gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await stub?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("approvals on Telegram (inline keyboard)", () => {
  it("posts the call with Approve/Deny buttons; a press by the user runs it", async () => {
    stub.script(...createJobTurn());
    await fake.inject({ chatType: "group", chatId: "-100500", userId: "701", text: "schedule a ping" });
    const prompt = await fake.waitForSent((m) => m.text.includes("wants to run cron_create"), 10_000);
    const id = /\/approve ([0-9a-f]{6})/.exec(prompt.text)![1]!;
    expect((prompt.raw as Record<string, unknown>).reply_markup).toEqual({
      inline_keyboard: [
        [
          { text: "Approve", callback_data: `/approve ${id}` },
          { text: "Deny", callback_data: `/deny ${id}` },
        ],
      ],
    });
    expect(await gw.cron.list("ops")).toHaveLength(0);
    await fake.pressButton(prompt, "701", `/approve ${id}`);
    await fake.waitForCall("answerCallbackQuery");
    await fake.waitForSent((m) => m.text.startsWith("✅ Approved: cron_create"));
    await fake.waitForSent((m) => m.text.startsWith("tool said:") && m.text.includes("created"), 10_000);
    expect(await gw.cron.list("ops")).toHaveLength(1);
  });

  it("refuses a press by another user; an admin's Deny press refuses the call", async () => {
    stub.script(...createJobTurn());
    await fake.inject({ chatType: "group", chatId: "-100500", userId: "701", text: "schedule another" });
    const deadline = Date.now() + 10_000;
    while (gw.gateway.approvals.pending().length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const id = gw.gateway.approvals.pending()[0]!.id;
    const prompt = await fake.waitForSent((m) => m.text.includes(`/approve ${id}`));
    // 704 may talk to the bot but neither asked nor is an admin.
    await fake.pressButton(prompt, "704", `/approve ${id}`);
    await fake.waitForSent((m) => m.text === "Only the user who asked, or an admin, may answer this.");
    expect(gw.gateway.approvals.get(id)).toBeDefined();
    // 703 is not in allowed_users: the press is dropped before it reaches the commands.
    await fake.pressButton(prompt, "703", `/approve ${id}`);
    await fake.pressButton(prompt, "702", `/deny ${id}`);
    await fake.waitForSent((m) => m.text.startsWith("🚫 Denied: cron_create"));
    await fake.waitForSent((m) => m.text.includes("cron_create was not run: denied by telegram:702"), 10_000);
    expect(await gw.cron.list("ops")).toHaveLength(1);
  });
});
