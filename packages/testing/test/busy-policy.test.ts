import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentRunner,
  type AgentTurn,
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { platform, TestAdapter, TestNetwork } from "../src/index.ts";

const text = (m: AgentTurn["input"][number]) => (typeof m.content === "string" ? m.content : "");

/**
 * A runner that records each turn's input and works in two "model steps": it answers after `stepMs`,
 * asking `turn.steer()` between the steps as the agent runtime does before each step after the first.
 */
function recordingRunner(stepMs: number) {
  const turns: Array<{ input: string[]; steered: string[]; aborted: boolean }> = [];
  const runner: AgentRunner = {
    async *run(turn) {
      const seen = { input: turn.input.map(text), steered: [] as string[], aborted: false };
      turns.push(seen);
      for (let step = 0; step < 2; step++) {
        if (step > 0) seen.steered.push(...(turn.steer?.() ?? []).map(text));
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, stepMs);
          const stop = () => {
            clearTimeout(t);
            resolve();
          };
          turn.signal.addEventListener("abort", stop, { once: true });
        });
        if (turn.signal.aborted) {
          seen.aborted = true;
          yield { type: "error", code: "aborted", message: "The turn was stopped." };
          return;
        }
      }
      const reply = `answer to ${[...seen.input, ...seen.steered].join(" + ")}`;
      yield { type: "text-delta", text: reply };
      yield { type: "finish", text: reply, usage: { inputTokens: 1, outputTokens: 1 } };
    },
  };
  return { runner, turns };
}

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
}
const open: Setup[] = [];

async function setup(session: Record<string, unknown>, runner: AgentRunner): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-busy-"));
  const config = buildConfig(
    { agents: { main: {} }, platforms: { test: { allow_all_users: true } }, session },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const gateway = createGateway({ config, store, runner, adapters: [new TestAdapter({ network: net })] });
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

const dm = (t: string) => ({ chatType: "dm" as const, chatId: "u1", userId: "u1", text: t });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a message that arrives mid-turn (session.busy)", () => {
  it("queue (the default): the running turn finishes, the new message is the next turn", async () => {
    const { runner, turns } = recordingRunner(150);
    const { net, gateway } = await setup({ debounce_s: 0 }, runner);
    await net.inject(dm("first"));
    await sleep(50);
    await net.inject(dm("second"));
    await gateway.idle();
    expect(turns.map((t) => t.input)).toEqual([["first"], ["second"]]);
    expect(net.sent().map((m) => m.text)).toEqual(["answer to first", "answer to second"]);
  });

  it("interrupt: the running turn is aborted and one new turn answers both messages", async () => {
    const { runner, turns } = recordingRunner(150);
    const { net, gateway, store } = await setup({ debounce_s: 0, busy: "interrupt" }, runner);
    await net.inject(dm("first"));
    await sleep(50);
    await net.inject(dm("second"));
    await gateway.idle();
    expect(turns).toHaveLength(2);
    expect(turns[0]!.aborted).toBe(true);
    expect(turns[1]!.input).toEqual(["first\n\nsecond"]);
    expect(net.sent().map((m) => m.text)).toEqual(["answer to first\n\nsecond"]);
    // Both messages stay in the transcript once, with the one answer after them.
    const [session] = await store.list({ limit: 1 });
    const rows = await store.history(session!.id, 10);
    expect(rows.map((r) => [r.role, r.content])).toEqual([
      ["user", "first"],
      ["user", "second"],
      ["assistant", "answer to first\n\nsecond"],
    ]);
  });

  it("steer: the new message joins the running turn at its next model step", async () => {
    const { runner, turns } = recordingRunner(150);
    const { net, gateway } = await setup({ debounce_s: 0, busy: "steer" }, runner);
    await net.inject(dm("first"));
    await sleep(50);
    await net.inject(dm("second"));
    await gateway.idle();
    expect(turns).toEqual([{ input: ["first"], steered: ["second"], aborted: false }]);
    expect(net.sent().map((m) => m.text)).toEqual(["answer to first + second"]);
  });

  it("debounces messages sent quickly while idle into one turn (0 disables)", async () => {
    const quick = recordingRunner(0);
    const debounced = await setup({ debounce_s: 0.3 }, quick.runner);
    for (const t of ["one", "two", "three"]) {
      await debounced.net.inject(dm(t));
      await sleep(100);
    }
    await debounced.gateway.idle();
    expect(quick.turns.map((t) => t.input)).toEqual([["one\n\ntwo\n\nthree"]]);

    const eager = recordingRunner(0);
    const immediate = await setup({ debounce_s: 0 }, eager.runner);
    for (const t of ["one", "two"]) {
      await immediate.net.inject(dm(t));
      await sleep(100);
    }
    await immediate.gateway.idle();
    expect(eager.turns.map((t) => t.input)).toEqual([["one"], ["two"]]);
  });

  it("waits 1.5 s of quiet by default before answering", async () => {
    const { runner, turns } = recordingRunner(0);
    const { net, gateway } = await setup({}, runner);
    const started = Date.now();
    await net.inject(dm("hello"));
    await gateway.idle();
    expect(turns).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1450);
  });
});
