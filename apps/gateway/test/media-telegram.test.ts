import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { type StubChatRequest, type StubLlm, startStubLlm, TINY_PNG } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

/**
 * Media end to end: the real Telegram adapter (grammY) against the fake Bot API, the real agent runtime
 * on the stub LLM (openai-compatible, vision on), transcription through the stub's /audio/transcriptions.
 */
const home = mkdtempSync(join(tmpdir(), "sb-media-tg-"));
let fake: FakeTelegram;
let stub: StubLlm;
let gw: RunningGateway;
let chat = 600;

const lastUser = (body: StubChatRequest) => [...body.messages].reverse().find((m) => m.role === "user");

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
  main: { model: { provider: local, name: m, vision: true } }
transcription: { provider: local, model: whisper-stub }
media: { max_bytes: 100000 }
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${fake.url}
    poll_timeout_s: 1
    allow_all_users: true
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

describe("media on Telegram through the whole gateway", () => {
  it("publishes the command menu at start", async () => {
    const call = await fake.waitForCall("setMyCommands");
    expect((call.body.commands as Array<{ command: string }>).map((c) => c.command)).toContain("help");
  });

  it("a photo reaches the vision model as a data URL; no Telegram URL or token reaches the provider", async () => {
    const before = stub.requests.length;
    const chatId = String(++chat);
    await fake.inject({
      chatType: "dm",
      chatId,
      userId: chatId,
      text: "what is this?",
      media: [{ kind: "image", name: "cat.png", mimeType: "image/png", data: TINY_PNG }],
    });
    await fake.waitForSent((m) => m.chatId === chatId && m.text.startsWith("stub:"), 10_000);
    const body = stub.requests.slice(before).at(-1)!;
    expect(lastUser(body)?.content).toEqual([
      { type: "text", text: "what is this?" },
      {
        type: "image_url",
        image_url: { url: `data:image/png;base64,${Buffer.from(TINY_PNG).toString("base64")}` },
      },
    ]);
    const wire = JSON.stringify(stub.requests.slice(before));
    expect(wire).not.toContain(DEFAULT_BOT.token);
    expect(wire).not.toContain(fake.url);
  });

  it("a voice note is transcribed and the transcript is the user's text", async () => {
    stub.transcribeAs("remind me to buy milk");
    const before = stub.requests.length;
    const chatId = String(++chat);
    await fake.inject({
      chatType: "dm",
      chatId,
      userId: chatId,
      text: "",
      media: [
        { kind: "audio", voice: true, name: "voice.ogg", mimeType: "audio/ogg", data: new Uint8Array(64) },
      ],
    });
    await fake.waitForSent((m) => m.chatId === chatId && m.text.includes("remind me to buy milk"), 10_000);
    expect(stub.transcriptions.at(-1)).toMatchObject({ model: "whisper-stub", bytes: 64 });
    expect(lastUser(stub.requests.slice(before).at(-1)!)?.content).toBe("remind me to buy milk");
    // The next turn's history knows what the voice note said.
    await fake.inject({ chatType: "dm", chatId, userId: chatId, text: "what did I ask?" });
    await fake.waitForSent((m) => m.chatId === chatId && m.text.includes("what did I ask?"), 10_000);
    const history = JSON.stringify(stub.requests.at(-1)!.messages);
    expect(history).toContain("(transcript of the voice note) remind me to buy milk");
  });

  it("send_file uploads a file of the agent's home into the chat; a file outside it is refused", async () => {
    mkdirSync(join(home, "out"), { recursive: true });
    writeFileSync(join(home, "out", "chart.png"), TINY_PNG);
    const chatId = String(++chat);
    const step = (body: StubChatRequest) => {
      const last = body.messages.at(-1)!;
      if (last.role === "tool") return { text: `done: ${String(last.content)}` };
      return {
        toolCalls: [
          { name: "send_file", arguments: { path: "out/chart.png", caption: "the chart" } },
          { name: "send_file", arguments: { path: "/etc/passwd" } },
        ],
      };
    };
    stub.script(step, step);
    const before = fake.uploads().length;
    await fake.inject({ chatType: "dm", chatId, userId: chatId, text: "send me the chart" });
    await fake.waitForSent((m) => m.chatId === chatId && m.text.startsWith("done:"), 10_000);
    const ups = fake.uploads().slice(before);
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ as: "sendPhoto", chatId, name: "chart.png", caption: "the chart" });
  });

  it("an image the reply links to in the agent's home is uploaded after the text and its link removed", async () => {
    const chatId = String(++chat);
    stub.script({ text: "Here is the plot:\n\n![plot](out/chart.png)" });
    const before = fake.uploads().length;
    await fake.inject({ chatType: "dm", chatId, userId: chatId, text: "plot it" });
    const sent = await fake.waitForSent((m) => m.chatId === chatId, 10_000);
    expect(sent.text).toBe("Here is the plot:");
    const deadline = Date.now() + 5000;
    while (fake.uploads().length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(fake.uploads().slice(before)).toMatchObject([{ as: "sendPhoto", chatId, caption: "plot" }]);
  });
});
