import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_BOT,
  FakeTelegram,
  SECOND_BOT,
} from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

const home = mkdtempSync(join(tmpdir(), "sb-reload-"));
let fake: FakeTelegram;
let gw: RunningGateway;
const logger = memoryLogger();

function writeConfig(extra: { agents?: string; secondMode?: string; routes?: string } = {}): void {
  writeFileSync(
    join(home, "config.yaml"),
    `# operator's comment
api_server: { port: 0 }
agents:
  main: {}
${extra.agents ?? ""}
routes:
${extra.routes ?? "  []"}
platforms:
  telegram:
    api_url: ${fake.url}
    poll_timeout_s: 1
    allow_all_users: true
    accounts:
      default: { token: "${DEFAULT_BOT.token}" }
      second: { token: "${SECOND_BOT.token}", reply_to_mode: ${extra.secondMode ?? "first"} }
`,
  );
}

beforeAll(async () => {
  fake = await FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]);
  writeConfig();
  gw = await startGateway({ home, logger, watchConfig: false });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  rmSync(home, { recursive: true, force: true });
});

const adapter = (account: string) => gw.gateway.adapters().find((a) => a.account === account);

describe("live reload", () => {
  it("swaps agents and routes, keeps unchanged connections, reconnects changed ones", async () => {
    await fake.inject({ chatType: "dm", chatId: "501", userId: "501", text: "before" });
    expect((await fake.waitForSent((m) => m.text.includes("before"))).text).toBe("[main] before");
    const keptDefault = adapter("default");
    const oldSecond = adapter("second");
    writeConfig({
      agents: "  ops: {}",
      routes: '  - match: { platform: telegram, chat_id: "502" }\n    agent: ops',
      secondMode: "all",
    });
    expect(await gw.reload()).toBe(true);
    expect(adapter("default")).toBe(keptDefault);
    expect(adapter("second")).not.toBe(oldSecond);
    await fake.inject({ chatType: "dm", chatId: "502", userId: "502", text: "after" });
    expect((await fake.waitForSent((m) => m.text.includes("after"))).text).toBe("[ops] after");
    await fake.inject({
      account: "second",
      chatType: "dm",
      chatId: "503",
      userId: "503",
      text: "second bot",
    });
    expect((await fake.waitForSent((m) => m.text.includes("second bot"))).account).toBe("second");
  });

  it("lets an in-flight turn finish on its old profile while the config changes", async () => {
    await fake.inject({ chatType: "dm", chatId: "502", userId: "502", text: "[[sleep:600]] long one" });
    await new Promise((r) => setTimeout(r, 100));
    writeConfig({
      agents: "  ops: {}\n  fresh: {}",
      routes: '  - match: { platform: telegram, chat_id: "502" }\n    agent: fresh',
    });
    expect(await gw.reload()).toBe(true);
    expect((await fake.waitForSent((m) => m.text.includes("long one"))).text).toBe(
      "[ops] [[sleep:600]] long one",
    );
    await fake.inject({ chatType: "dm", chatId: "502", userId: "502", text: "next one" });
    expect((await fake.waitForSent((m) => m.text.includes("next one"))).text).toBe("[fresh] next one");
  });

  it("keeps serving on the old config when the new one is invalid, logging every error", async () => {
    writeFileSync(
      join(home, "config.yaml"),
      "agents:\n  main: {}\nroutes:\n  - match: { chat_idd: 1 }\n    agent: ghost\n",
    );
    expect(await gw.reload()).toBe(false);
    const rejected = logger.entries.find((e) => e.msg.startsWith("config reload rejected"));
    expect(rejected?.msg).toContain("routes[0].match.chat_idd");
    expect(rejected?.msg).toContain("routes[0].agent");
    await fake.inject({ chatType: "dm", chatId: "502", userId: "502", text: "still routed" });
    expect((await fake.waitForSent((m) => m.text.includes("still routed"))).text).toBe(
      "[fresh] still routed",
    );
  });
});
