import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentRunner,
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEchoRunner, type FakeEdit, platform, TestAdapter, TestNetwork } from "../src/index.ts";

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
}
const open: Setup[] = [];

async function setup(
  raw: Record<string, unknown> = {},
  opts: { runner?: AgentRunner; editIntervalMs?: number; maxMessageLength?: number } = {},
): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-stream-"));
  const { test: testSection, ...rest } = raw as { test?: object };
  const config = buildConfig(
    {
      agents: { main: {}, quiet: { streaming: "off" } },
      routes: [{ match: { platform: "test", chat_id: "quiet-chat" }, agent: "quiet" }],
      platforms: { test: { allow_all_users: true, ...testSection } },
      session: { debounce_s: 0 },
      ...rest,
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const gateway = createGateway({
    config,
    store,
    runner: opts.runner ?? createEchoRunner(),
    adapters: [
      new TestAdapter({
        network: net,
        editIntervalMs: opts.editIntervalMs ?? 200,
        ...(opts.maxMessageLength ? { maxMessageLength: opts.maxMessageLength } : {}),
      }),
    ],
    retry: { baseDelayMs: 10 },
    streaming: { initialDelayMs: 150, initialChars: 10 },
  });
  await gateway.start();
  const s = { gateway, net, store, home };
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.gateway.stop({ timeoutMs: 1000 });
    await s.store.close();
    rmSync(s.home, { recursive: true, force: true });
  }
});

const dm = (text: string, chatId = "u1") => ({ chatType: "dm" as const, chatId, userId: "u1", text });
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

/** The send and every edit of one message, in order, with their times. */
function history(net: TestNetwork, messageId: string): Array<{ at: number; text: string; format?: string }> {
  const sent = net.sent().find((m) => m.messageId === messageId)!;
  const edits: FakeEdit[] = net.edits().filter((e) => e.messageId === messageId);
  return [{ at: sent.at!, text: sent.text, ...(sent.format ? { format: sent.format } : {}) }, ...edits];
}

describe("streamed chat replies", () => {
  it("sends the first part after the initial delay, edits it in place, and ends with the formatted text", async () => {
    const { net, gateway } = await setup();
    const injected = Date.now();
    await net.inject(dm(`**bold** [[slow:40]] ${words(30)}`));
    await gateway.idle();
    const first = net.sent()[0]!;
    expect(net.sent()).toHaveLength(1);
    // Plain while streaming (the Markdown shows as typed), formatted at the end.
    expect(first.format).toBeUndefined();
    expect(first.at! - injected).toBeGreaterThanOrEqual(150);
    const steps = history(net, first.messageId!);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const last = steps[steps.length - 1]!;
    expect(last.format).toBe("markdown");
    expect(last.text).toBe(`[main] **bold** ${words(30)}`);
    for (const s of steps.slice(1, -1)) expect(s.format).toBeUndefined();
    // Each intermediate text is a prefix of the answer, cut after a whole word.
    for (const s of steps.slice(0, -1)) expect(last.text.startsWith(s.text)).toBe(true);
    for (let i = 1; i < steps.length; i++)
      expect(steps[i]!.at - steps[i - 1]!.at).toBeGreaterThanOrEqual(190);
  });

  it("sends a reply that is complete before the initial delay as one message, unedited", async () => {
    const { net, gateway } = await setup();
    await net.inject(dm("quick one"));
    await gateway.idle();
    expect(net.sent().map((m) => m.text)).toEqual(["[main] quick one"]);
    expect(net.edits()).toEqual([]);
  });

  it("sends the reply whole when the platform or the agent turns streaming off", async () => {
    const off = await setup({ test: { streaming: "off" } });
    await off.net.inject(dm(`[[slow:30]] ${words(20)}`));
    await off.gateway.idle();
    expect(off.net.sent()).toHaveLength(1);
    expect(off.net.sent()[0]!.format).toBe("markdown");
    expect(off.net.edits()).toEqual([]);

    const agentOff = await setup();
    await agentOff.net.inject(dm(`[[slow:30]] ${words(20)}`, "quiet-chat"));
    await agentOff.gateway.idle();
    expect(agentOff.net.sent()).toHaveLength(1);
    expect(agentOff.net.edits()).toEqual([]);
  });

  it("asks the model for a whole answer when nothing streams the reply, and for a stream when something does", async () => {
    const asked: Array<boolean | undefined> = [];
    const runner: AgentRunner = {
      async *run(turn) {
        asked.push(turn.stream);
        yield { type: "finish", text: "ok", usage: { inputTokens: 1, outputTokens: 1 } };
      },
    };
    const { net, gateway } = await setup({}, { runner });
    await net.inject(dm("streamed"));
    await gateway.idle();
    await net.inject(dm("whole", "quiet-chat"));
    await gateway.idle();
    expect(asked).toEqual([undefined, false]);
  });

  it("continues in a new message past the platform's limit, finalising the full one formatted", async () => {
    const { net, gateway } = await setup({}, { maxMessageLength: 120 });
    await net.inject(dm(`[[slow:15]] ${words(70)}`));
    await gateway.idle();
    const sent = net.sent();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const finals = sent.map((m) => {
      const h = history(net, m.messageId!);
      return h[h.length - 1]!;
    });
    for (const f of finals) {
      expect(f.format).toBe("markdown");
      expect(f.text.length).toBeLessThanOrEqual(120);
    }
    expect(finals.map((f) => f.text).join(" ")).toBe(`[main] ${words(70)}`);
  });

  it("edits less often after a rate limit and still delivers the final text", async () => {
    const { net, gateway } = await setup();
    net.failNextEdits(1, 1);
    await net.inject(dm(`[[slow:40]] ${words(40)}`));
    await gateway.idle();
    const steps = history(net, net.sent()[0]!.messageId!);
    expect(steps[steps.length - 1]!.text).toBe(`[main] ${words(40)}`);
    // After the 429 (retry after 1 s) the interval is at least a second.
    const gaps = steps.slice(1).map((s, i) => s.at - steps[i]!.at);
    expect(gaps.some((g) => g >= 950)).toBe(true);
  });

  it("shows a tool status line while a tool runs, replaced by the answer", async () => {
    const runner: AgentRunner = {
      async *run() {
        yield { type: "tool-call", toolCallId: "t1", toolName: "memory_add", input: {} };
        await new Promise((r) => setTimeout(r, 450));
        yield { type: "tool-result", toolCallId: "t1", toolName: "memory_add", output: "ok" };
        for (const w of words(12).split(" ")) {
          await new Promise((r) => setTimeout(r, 30));
          yield { type: "text-delta", text: `${w} ` };
        }
        yield { type: "finish", text: words(12), usage: { inputTokens: 1, outputTokens: 12 } };
      },
    };
    const { net, gateway } = await setup({}, { runner });
    await net.inject(dm("remember this"));
    await gateway.idle();
    const steps = history(net, net.sent()[0]!.messageId!);
    expect(steps[0]!.text).toBe("⏳ using memory_add…");
    expect(steps[steps.length - 1]!.text).toBe(words(12));

    const quiet = await setup({ test: { streaming_tool_status: false } }, { runner });
    await quiet.net.inject(dm("remember this"));
    await quiet.gateway.idle();
    const all = [...quiet.net.sent().map((m) => m.text), ...quiet.net.edits().map((e) => e.text)];
    expect(all.some((t) => t.includes("using memory_add"))).toBe(false);
  });
});
