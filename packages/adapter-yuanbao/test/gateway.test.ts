import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  ConfigError,
  createGateway,
  type DispatchOutcome,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { createEchoRunner } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encode } from "../src/codec.ts";
import { platform } from "../src/index.ts";
import { FakeYuanbao, yuanbaoSection } from "./fake-yuanbao.ts";

let fake: FakeYuanbao;
let home: string;
let store: SessionStore;
let gateway: GatewayRuntime;
const outcomes: DispatchOutcome[] = [];

function configOf(section: Record<string, unknown>) {
  return buildConfig(
    {
      agents: { main: {} },
      platforms: { yuanbao: section },
      api_server: { enabled: false },
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { yuanbao: platform } },
  );
}

beforeEach(async () => {
  fake = await FakeYuanbao.start();
  home = mkdtempSync(join(tmpdir(), "sb-yuanbao-"));
  store = openSessionStore(join(home, "state.db"));
  outcomes.length = 0;
  // The section as users write it: no require_mention, so the default (true) applies.
  const config = configOf({ ...yuanbaoSection(fake), allow_all_users: true });
  const adapters = [...(config.platformAccounts.get("yuanbao") ?? [])].map(([account, cfg]) =>
    platform.create(cfg as never, { account }),
  );
  gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    adapters,
    onDispatch: (_inbound, outcome) => outcomes.push(outcome),
  });
  await gateway.start();
});

afterEach(async () => {
  await gateway.stop({ timeoutMs: 2000 });
  await fake.close();
  await store.close();
  rmSync(home, { recursive: true, force: true });
});

describe("Yuanbao through a gateway", () => {
  it("answers a private chat always, a group only when the bot is mentioned (require_mention defaults to true)", async () => {
    // Two senders: pushes from one sender within the debounce window would be joined into one message.
    await fake.inject({ chatType: "group", chatId: "g1", userId: "ann", text: "not for you" });
    await fake.inject({ chatType: "group", chatId: "g1", userId: "amy", text: "for you", mention: true });
    await fake.inject({ chatType: "dm", chatId: "bea", userId: "bea", text: "private" });
    expect(await fake.waitForSent((m) => m.text.includes("for you"))).toMatchObject({
      chatId: "g1",
      text: "[main] for you",
    });
    await fake.waitForSent((m) => m.text.includes("private"));
    expect(fake.sent().some((m) => m.text.includes("not for you"))).toBe(false);
    expect(outcomes).toContainEqual({ status: "ignored", reason: "not-mentioned" });
    // The group reply quotes the message it answers.
    const groupSend = fake.requests.find((r) => r.cmd === "send_group_message");
    expect(String(groupSend?.req.ref_msg_id)).toMatch(/^msg-/);
  });

  it("answers a redelivered push (same msg_id) once", async () => {
    const push = fake.pushOf({
      chatType: "dm",
      chatId: "cid",
      userId: "cid",
      text: "only once",
      messageId: "m-dup",
    });
    await fake.push("default", encode("InboundMessagePush", push));
    await fake.waitForSent((m) => m.text.includes("only once"));
    await fake.push("default", encode("InboundMessagePush", push));
    await fake.until(() => outcomes.length === 2, 3000, "the second dispatch");
    expect(outcomes[1]).toEqual({ status: "ignored", reason: "duplicate" });
    expect(fake.sent().filter((m) => m.text.includes("only once"))).toHaveLength(1);
  });

  it("shows typing while the agent works and finishes it with the reply", async () => {
    await fake.inject({ chatType: "dm", chatId: "dan", userId: "dan", text: "typing please" });
    await fake.waitForSent((m) => m.text.includes("typing please"));
    await fake.until(() => fake.heartbeats.some((h) => h.state === 2), 2000, "FINISH");
    expect(fake.heartbeats[0]).toMatchObject({ cmd: "send_private_heartbeat", to: "dan", state: 1 });
  });
});

describe("Yuanbao config", () => {
  it("names the missing key and what to set", () => {
    const err = (() => {
      try {
        configOf({ app_id: "x" });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.issues).toContainEqual({
      path: "platforms.yuanbao.app_secret",
      message: expect.stringContaining("set YUANBAO_APP_SECRET"),
    });
  });

  it("never lets a named account inherit the default bot's credentials", () => {
    const config = configOf({
      app_id: "a",
      app_secret: "s",
      bot_id: "b",
      require_mention: false,
      accounts: { helper: { app_id: "a2", app_secret: "s2" } },
    });
    const helper = config.platformAccounts.get("yuanbao")?.get("helper") as Record<string, unknown>;
    expect(helper).toMatchObject({ app_id: "a2", app_secret: "s2", require_mention: false });
    expect(helper.bot_id).toBeUndefined();
  });
});
