import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type DispatchOutcome,
  type GatewayRuntime,
  type InboundMessage,
  openSessionStore,
  type SessionStore,
  silentLogger,
} from "@switchboard/core";
import { createEchoRunner, type HttpBridge, startHttpBridge } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { platform, type SlackAdapterConfig } from "../src/index.ts";
import { FakeSlack } from "./fake-slack.ts";

interface Running {
  fake: FakeSlack;
  gateway: GatewayRuntime;
  bridge: HttpBridge;
  store: SessionStore;
  home: string;
  outcomes: Array<{ inbound: InboundMessage; outcome: DispatchOutcome }>;
}

let r: Running | undefined;
afterEach(async () => {
  if (!r) return;
  await r.gateway.stop({ timeoutMs: 2000 });
  await r.fake.close();
  await r.bridge.close();
  await r.store.close();
  rmSync(r.home, { recursive: true, force: true });
  r = undefined;
});

/** A real gateway with the echo agent and the Slack adapter at its defaults (reply_in_thread, require_mention). */
async function startGateway(mode: "socket" | "http"): Promise<Running> {
  const home = mkdtempSync(join(tmpdir(), "sb-slack-gw-"));
  let gateway: GatewayRuntime | undefined;
  const bridge = await startHttpBridge((req) => gateway?.http.fetch(req));
  const fake = await FakeSlack.start({ mode, gatewayUrl: bridge.url });
  const config = buildConfig(
    {
      platforms: { slack: { ...fake.config(), allow_all_users: true } },
      api_server: { enabled: false },
      session: { debounce_s: 0 },
    },
    { file: undefined, home, env: {}, platforms: { slack: platform } },
  );
  const store = openSessionStore(join(home, "state.db"));
  const outcomes: Running["outcomes"] = [];
  const adapters = [...(config.platformAccounts.get("slack") ?? [])].map(([account, cfg]) =>
    platform.create(cfg as SlackAdapterConfig, { account }),
  );
  gateway = createGateway({
    config,
    store,
    runner: createEchoRunner(),
    adapters,
    logger: silentLogger(),
    retry: { baseDelayMs: 20 },
    onDispatch: (inbound, outcome) => outcomes.push({ inbound, outcome }),
  });
  await gateway.start();
  return { fake, gateway, bridge, store, home, outcomes };
}

async function outcomeOf(run: Running, text: string): Promise<DispatchOutcome> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const hit = run.outcomes.find((o) => o.inbound.text === text);
    if (hit) return hit.outcome;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`no dispatch outcome for ${text}`);
}

describe.each(["socket", "http"] as const)(
  "Slack through the gateway (%s mode, default settings)",
  (mode) => {
    it("holds a channel conversation in the thread of the message that started it", async () => {
      r = await startGateway(mode);
      await r.fake.inject({
        chatType: "group",
        chatId: "C0OPS",
        userId: "U0ADA",
        text: "status please",
        mention: true,
      });
      const reply = await r.fake.waitForSent((s) => s.text.includes("status please"));
      const root = (await outcomeOf(r, "status please")) as Extract<DispatchOutcome, { status: "queued" }>;
      expect(root.status).toBe("queued");
      const rootTs = r.outcomes.find((o) => o.inbound.text === "status please")!.inbound.messageId;
      expect(reply).toMatchObject({
        chatId: "C0OPS",
        threadId: rootTs,
        account: "default",
        format: "mrkdwn",
      });
      expect(root.sessionKey).toBe(`agent:main:slack:group:C0OPS:${rootTs}`);

      // Someone else follows up in the thread without mentioning the bot: same conversation.
      await r.fake.inject({
        chatType: "thread",
        chatId: "C0OPS",
        threadId: rootTs,
        userId: "U0BOB",
        text: "and disk?",
      });
      const followUp = await r.fake.waitForSent((s) => s.text.includes("and disk?"));
      expect(followUp.threadId).toBe(rootTs);
      expect(await outcomeOf(r, "and disk?")).toMatchObject({
        status: "queued",
        sessionKey: root.sessionKey,
      });
    });

    it("stays quiet in a channel unless mentioned, but always answers a DM", async () => {
      r = await startGateway(mode);
      await r.fake.inject({ chatType: "group", chatId: "C0OPS", userId: "U0ADA", text: "just chatting" });
      expect(await outcomeOf(r, "just chatting")).toEqual({ status: "ignored", reason: "not-mentioned" });
      await r.fake.inject({ chatType: "dm", chatId: "D0ADA", userId: "U0ADA", text: "hello bot" });
      const dm = await r.fake.waitForSent((s) => s.text.includes("hello bot"));
      expect(dm).toMatchObject({ chatId: "D0ADA" });
      expect(dm.threadId).toBeUndefined();
      expect(r.fake.sent().some((s) => s.text.includes("just chatting"))).toBe(false);
    });
  },
);
