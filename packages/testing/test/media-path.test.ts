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
import { createEchoRunner, platform, TestAdapter, TestNetwork, TINY_PNG } from "../src/index.ts";

interface Setup {
  gateway: GatewayRuntime;
  net: TestNetwork;
  store: SessionStore;
  home: string;
  turns: AgentTurn[];
}
const open: Setup[] = [];

/** A gateway on the in-memory platform: `default` takes files, `plain` declares no media at all. */
async function setup(raw: Record<string, unknown> = {}): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "sb-media-path-"));
  const config = buildConfig(
    {
      agents: { main: {}, seer: { model: { provider: "echo", vision: true } } },
      routes: [{ match: { platform: "test", chat_id: "seer-chat" }, agent: "seer" }],
      platforms: { test: { allow_all_users: true, accounts: { default: {}, plain: {} } } },
      // Turns start at once: the tests time replies.
      session: { debounce_s: 0 },
      media: { max_bytes: 1000 },
      ...raw,
    },
    { file: undefined, home, env: {}, platforms: { test: platform } },
  );
  const net = new TestNetwork();
  const store = openSessionStore(join(home, "state.db"));
  const turns: AgentTurn[] = [];
  const inner = createEchoRunner();
  const runner: AgentRunner = {
    run(turn) {
      turns.push(turn);
      return inner.run(turn);
    },
  };
  const gateway = createGateway({
    config,
    store,
    runner,
    adapters: [
      new TestAdapter({ network: net, media: true }),
      new TestAdapter({ network: net, account: "plain" }),
    ],
    retry: { baseDelayMs: 10 },
  });
  await gateway.start();
  const s = { gateway, net, store, home, turns };
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

const photo = { kind: "image" as const, name: "cat.png", mimeType: "image/png", data: TINY_PNG };
const textOf = (t: AgentTurn | undefined) => JSON.stringify(t?.input.map((m) => m.content) ?? []);

describe("files through the message path", () => {
  it("a model without vision gets a note that a photo came, not an empty message; the session keeps a label", async () => {
    const { net, turns, store } = await setup();
    await net.inject({ chatType: "dm", chatId: "u1", userId: "u1", text: "", media: [photo] });
    const reply = await net.waitForSent((m) => m.chatId === "u1");
    expect(reply.text).toContain("cannot see images");
    expect(textOf(turns[0])).not.toContain("data:image");
    const [session] = await store.list();
    const history = await store.history(session!.id);
    expect(history[0]).toMatchObject({ role: "user", content: "[image: cat.png]" });
  });

  it("a vision agent gets the photo as an image part", async () => {
    const { net, turns } = await setup();
    await net.inject({ chatType: "group", chatId: "seer-chat", userId: "u1", text: "look", media: [photo] });
    await net.waitForSent((m) => m.chatId === "seer-chat");
    const parts = turns[0]!.input[0]!.content;
    expect(parts).toEqual([
      { type: "text", text: "look" },
      {
        type: "image",
        url: `data:image/png;base64,${Buffer.from(TINY_PNG).toString("base64")}`,
        mimeType: "image/png",
      },
    ]);
  });

  it("a file over media.max_bytes, and an account that cannot download, become notes", async () => {
    const { net } = await setup();
    const big = { kind: "file" as const, name: "big.csv", mimeType: "text/csv", data: new Uint8Array(5000) };
    await net.inject({ chatType: "dm", chatId: "u2", userId: "u2", text: "", media: [big] });
    expect((await net.waitForSent((m) => m.chatId === "u2")).text).toContain("over the 1000 B limit");
    const doc = { kind: "file" as const, name: "a.txt", mimeType: "text/plain", data: new Uint8Array(3) };
    await net.inject({
      account: "plain",
      chatType: "dm",
      chatId: "u3",
      userId: "u3",
      text: "",
      media: [doc],
    });
    expect((await net.waitForSent((m) => m.chatId === "u3")).text).toContain("cannot download");
  });

  it("offers a way to send files only where the account takes them, bound to the turn's chat", async () => {
    const { net, turns } = await setup();
    await net.inject({ chatType: "dm", chatId: "u4", userId: "u4", text: "[[upload:a.png]] one" });
    await net.waitForSent((m) => m.chatId === "u4");
    expect(net.uploads()).toMatchObject([{ account: "default", chatId: "u4", name: "a.png", as: "image" }]);
    await net.inject({ account: "plain", chatType: "dm", chatId: "u5", userId: "u5", text: "two" });
    await net.waitForSent((m) => m.chatId === "u5");
    expect(turns.find((t) => textOf(t).includes("one"))?.services?.media).toBeDefined();
    expect(turns.find((t) => textOf(t).includes("two"))?.services?.media).toBeUndefined();
  });
});
