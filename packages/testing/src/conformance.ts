import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentRunner,
  type AgentTurn,
  buildConfig,
  createGateway,
  type DispatchOutcome,
  type GatewayConfig,
  type GatewayRuntime,
  type InboundMessage,
  openSessionStore,
  type PlatformAdapter,
  type SessionStore,
} from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConformanceDescriptor,
  type ConformanceIds,
  type ConformanceOptions,
  type ConformanceTest,
  DEFAULT_CONFORMANCE_IDS,
  type FakePlatform,
  type FakeSent,
  type FakeUpload,
} from "./conformance-types.ts";
import { createEchoRunner, TINY_PNG } from "./echo-runner.ts";
import { type HttpBridge, startHttpBridge } from "./http-bridge.ts";

const SECOND = "second";

/** Handle types whose count must return to the baseline after `stop()`. */
const HANDLE_TYPES = new Set(["TCPSocketWrap", "TCPServerWrap", "Timeout", "TLSWrap", "Immediate"]);
function handleCount(): number {
  return process.getActiveResourcesInfo().filter((t) => HANDLE_TYPES.has(t)).length;
}

interface Harness {
  fake: FakePlatform;
  gateway: GatewayRuntime;
  store: SessionStore;
  bridge: HttpBridge;
  config: GatewayConfig;
  outcomes: Array<{ inbound: InboundMessage; outcome: DispatchOutcome }>;
  /** Every turn the agent received, for what reached the model (`media-in`). */
  turns: AgentTurn[];
  home: string;
}

/** The echo runner, remembering each turn it is given. */
function recordingRunner(turns: AgentTurn[]): AgentRunner {
  const inner = createEchoRunner();
  return {
    run(turn) {
      turns.push(turn);
      return inner.run(turn);
    },
  };
}

/** The text of a turn's user input (text parts joined). */
function inputText(turn: AgentTurn): string {
  return turn.input
    .filter((m) => m.role === "user")
    .map((m) =>
      typeof m.content === "string"
        ? m.content
        : m.content.map((p) => (p.type === "text" ? p.text : "")).join("\n"),
    )
    .join("\n");
}

function conformanceConfig(
  d: ConformanceDescriptor,
  section: Record<string, unknown>,
  ids: ConformanceIds,
  requireMention: boolean,
) {
  const platform = d.name;
  return {
    // main reads images, so a photo reaches it as a data URL (`media-in`).
    agents: { main: { model: { provider: "echo", vision: true } }, alpha: {}, beta: {}, gamma: {} },
    routes: [
      { match: { platform, chat_id: ids.groupChat }, agent: "alpha" },
      { match: { platform, thread_id: ids.thread.threadId }, agent: "gamma" },
      { match: { platform, account: SECOND }, agent: "beta" },
    ],
    platforms: { [platform]: { ...section, allow_all_users: true, require_mention: requireMention } },
    api_server: { enabled: false },
  };
}

/**
 * The conformance suite every platform adapter runs (DESIGN §6): the real adapter against its fake platform,
 * through a real gateway with an echo agent. Opt-outs are named, with a reason.
 */
export function adapterConformance(d: ConformanceDescriptor, options: ConformanceOptions = {}): void {
  const ids: ConformanceIds = {
    ...DEFAULT_CONFORMANCE_IDS,
    ...d.ids,
    thread: { ...DEFAULT_CONFORMANCE_IDS.thread, ...d.ids?.thread },
  };
  const timeout = d.replyTimeoutMs ?? 5000;
  const chatTypes = d.chatTypes ?? ["dm", "group", "thread"];
  const p = d.name;
  let h: Harness;
  let baseline = 0;
  let msg = 0;
  const uniq = (label: string) => `${label}-${++msg}-${Math.random().toString(36).slice(2, 7)}`;

  const test = (
    name: ConformanceTest,
    fn: (ctx: { skip: (note?: string) => never }) => Promise<void>,
    extraTimeout = 0,
  ) => {
    if (options.only && !options.only.includes(name)) return;
    const reason = d.optOut?.[name];
    if (reason) it.skip(`${name} (opted out: ${reason})`, () => {});
    else it(name, fn, timeout * 3 + extraTimeout);
  };
  const outcomeFor = async (text: string): Promise<DispatchOutcome | undefined> => {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const o = h.outcomes.find((x) => x.inbound.text.includes(text));
      if (o) return o.outcome;
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  };
  const expectNoReply = async (text: string, ms = 800) => {
    await new Promise((r) => setTimeout(r, ms));
    expect(h.fake.sent().some((s) => s.text.includes(text))).toBe(false);
  };
  const replyTo = (text: string, extra: (m: FakeSent) => boolean = () => true) =>
    h.fake.waitForSent((m) => m.text.includes(text) && extra(m), timeout);

  describe(`${p} adapter conformance`, () => {
    beforeAll(async () => {
      baseline = handleCount();
      const home = mkdtempSync(join(tmpdir(), `sb-conf-${p}-`));
      let gw: GatewayRuntime | undefined;
      const bridge = await startHttpBridge((req) => gw?.http.fetch(req));
      const env = { gatewayUrl: bridge.url };
      const fake = await d.startFake(env);
      const config = buildConfig(conformanceConfig(d, d.config(fake, env), ids, false), {
        file: undefined,
        home,
        env: {},
        platforms: { [p]: d.definition },
      });
      const store = openSessionStore(join(home, "state.db"));
      const outcomes: Harness["outcomes"] = [];
      const turns: AgentTurn[] = [];
      const adapters: PlatformAdapter[] = [];
      for (const [account, cfg] of config.platformAccounts.get(p) ?? [])
        adapters.push(d.definition.create(cfg, { account }));
      gw = createGateway({
        config,
        store,
        runner: recordingRunner(turns),
        adapters,
        retry: { baseDelayMs: 50 },
        onDispatch: (inbound, outcome) => outcomes.push({ inbound, outcome }),
      });
      await gw.start();
      h = { fake, gateway: gw, store, bridge, config, outcomes, turns, home };
    }, 30_000);

    afterAll(async () => {
      if (!h) return;
      await h.gateway.stop({ timeoutMs: 2000 }).catch(() => {});
      await h.fake.close().catch(() => {});
      await h.bridge.close();
      await h.store.close();
      rmSync(h.home, { recursive: true, force: true });
    }, 30_000);

    if (chatTypes.includes("dm")) {
      test("dm-routing", async () => {
        const text = uniq("hello-dm");
        await h.fake.inject({ chatType: "dm", chatId: ids.dmChat, userId: ids.user, userName: "Ada", text });
        const reply = await replyTo(text, (m) => m.chatId === ids.dmChat);
        expect(reply.text).toContain("[main]");
        const outcome = await outcomeFor(text);
        expect(outcome).toMatchObject({
          status: "queued",
          agentId: "main",
          sessionKey: `agent:main:${p}:dm:${ids.dmChat}`,
        });
      });
    }

    if (chatTypes.includes("group")) {
      test("group-routing", async () => {
        const text = uniq("hello-group");
        await h.fake.inject({
          chatType: "group",
          chatId: ids.groupChat,
          userId: ids.user,
          text,
          mention: true,
        });
        const reply = await replyTo(text, (m) => m.chatId === ids.groupChat);
        expect(reply.text).toContain("[alpha]");
        expect(await outcomeFor(text)).toMatchObject({
          status: "queued",
          agentId: "alpha",
          sessionKey: `agent:alpha:${p}:group:${ids.groupChat}:${ids.user}`,
        });
      });
    }

    if (chatTypes.includes("thread")) {
      test("thread-routing", async () => {
        const text = uniq("hello-thread");
        await h.fake.inject({
          chatType: "thread",
          chatId: ids.thread.chatId,
          threadId: ids.thread.threadId,
          ...(ids.thread.parentChatId ? { parentChatId: ids.thread.parentChatId } : {}),
          userId: ids.user,
          text,
          mention: true,
        });
        const reply = await replyTo(text);
        expect(reply.text).toContain("[gamma]");
        expect(reply.threadId === ids.thread.threadId || reply.chatId === ids.thread.threadId).toBe(true);
        const outcome = await outcomeFor(text);
        expect(outcome?.status).toBe("queued");
        const key = outcome && "sessionKey" in outcome ? outcome.sessionKey : "";
        expect(key.startsWith(`agent:gamma:${p}:`)).toBe(true);
        expect(key).toContain(ids.thread.threadId);
        // Threads are shared by default (thread_per_user: false): no user part.
        expect(key.endsWith(`:${ids.user}`) && ids.user !== ids.thread.threadId).toBe(false);
      });
    }

    test("reply-same-chat-thread-account", async () => {
      const text = uniq("hello-second");
      const chatType = chatTypes.includes("dm") ? "dm" : "group";
      const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
      await h.fake.inject({ account: SECOND, chatType, chatId, userId: ids.user, text, mention: true });
      const reply = await replyTo(text);
      expect(reply.account).toBe(SECOND);
      expect(reply.chatId).toBe(chatId);
      expect(reply.text).toContain("[beta]");
    });

    test(
      "long-reply-split",
      async () => {
        const limit = h.gateway.adapters().find((a) => a.account === "default")!.capabilities;
        const n = Math.min(limit.maxMessageLength * 2 + 500, 40_000);
        const marker = uniq("long");
        const before = h.fake.sent().length;
        const chatType = chatTypes.includes("dm") ? "dm" : "group";
        const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
        await h.fake.inject({
          chatType,
          chatId,
          userId: ids.user,
          text: `${marker} [[long:${n}]]`,
          mention: true,
        });
        const deadline = Date.now() + timeout * 2;
        let chunks: FakeSent[] = [];
        while (Date.now() < deadline) {
          chunks = h.fake
            .sent()
            .slice(before)
            .filter((m) => m.chatId === chatId);
          const total = chunks.reduce((s, c) => s + c.text.length, 0);
          if (chunks.length >= 3 && total >= n * 0.9) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        expect(chunks.length).toBeGreaterThanOrEqual(3);
        const unit = limit.lengthUnit ?? "utf16";
        for (const c of chunks) {
          const len = unit === "bytes" ? Buffer.byteLength(c.text) : c.text.length;
          expect(len).toBeLessThanOrEqual(limit.maxMessageLength);
          // Where the platform keeps Markdown, no chunk may leave a code fence open.
          if (limit.format === "markdown" || limit.format === "mrkdwn") {
            const fences = c.text.split("\n").filter((l) => /^\s*```/.test(l)).length;
            expect(fences % 2, `unbalanced code fence in chunk: ${c.text.slice(0, 80)}`).toBe(0);
          }
        }
      },
      timeout * 2,
    );

    test("formatting-fallback", async () => {
      if (!h.fake.rejectNextFormatted)
        throw new Error("the fake must implement rejectNextFormatted, or opt out with a reason");
      h.fake.rejectNextFormatted();
      const text = uniq("fmt");
      const chatType = chatTypes.includes("dm") ? "dm" : "group";
      const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
      await h.fake.inject({ chatType, chatId, userId: ids.user, text: `**bold** ${text}`, mention: true });
      const reply = await replyTo(text);
      expect(reply.text).toContain("bold");
      expect(reply.text).not.toContain("**");
    });

    test("ignores-self", async () => {
      const text = uniq("self");
      const chatType = chatTypes.includes("dm") ? "dm" : "group";
      const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
      await h.fake.inject({ chatType, chatId, userId: ids.user, text, fromSelf: true, mention: true });
      await expectNoReply(text);
    });

    test("mention-gating", async () => {
      if (!chatTypes.includes("group")) return;
      const gated = buildConfig(
        conformanceConfig(d, d.config(h.fake, { gatewayUrl: h.bridge.url }), ids, true),
        {
          file: undefined,
          home: h.home,
          env: {},
          platforms: { [p]: d.definition },
        },
      );
      h.gateway.reconfigure(gated);
      try {
        const quiet = uniq("unmentioned");
        await h.fake.inject({
          chatType: "group",
          chatId: ids.otherGroupChat,
          userId: ids.otherUser,
          text: quiet,
          mention: false,
        });
        await expectNoReply(quiet);
        const loud = uniq("mentioned");
        await h.fake.inject({
          chatType: "group",
          chatId: ids.otherGroupChat,
          userId: ids.otherUser,
          text: loud,
          mention: true,
        });
        await replyTo(loud, (m) => m.chatId === ids.otherGroupChat);
      } finally {
        h.gateway.reconfigure(h.config);
      }
    });

    test("retries-429", async () => {
      h.fake.failNextSends(429, 1, 1);
      const text = uniq("rate");
      const chatType = chatTypes.includes("dm") ? "dm" : "group";
      const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
      const started = Date.now();
      await h.fake.inject({ chatType, chatId, userId: ids.user, text, mention: true });
      await replyTo(text);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    }, 2000);

    test("retries-5xx", async () => {
      h.fake.failNextSends(500, 2);
      const text = uniq("flaky");
      const chatType = chatTypes.includes("dm") ? "dm" : "group";
      const chatId = chatType === "dm" ? ids.dmChat : ids.otherGroupChat;
      await h.fake.inject({ chatType, chatId, userId: ids.user, text, mention: true });
      await replyTo(text);
    });

    const dmOrGroup = () => {
      const chatType = chatTypes.includes("dm") ? ("dm" as const) : ("group" as const);
      return { chatType, chatId: chatType === "dm" ? ids.dmChat : ids.otherGroupChat };
    };
    const defaultCaps = () => h.gateway.adapters().find((a) => a.account === "default")!.capabilities;

    test("media-in", async (ctx) => {
      if (!defaultCaps().mediaIn) return ctx.skip("the adapter does not declare mediaIn");
      if (!h.fake.media?.in)
        throw new Error("the fake must serve media (media.in), or opt out with a reason");
      // One file per message: some platforms (Matrix) carry one file per event.
      const marker = uniq("media-in");
      const doc = `conformance document ${marker}`;
      const { chatType, chatId } = dmOrGroup();
      const kinds = h.fake.media.inKinds ?? ["image", "file"];
      const before = h.turns.length;
      const files = [
        { kind: "image" as const, name: "photo.png", mimeType: "image/png", data: TINY_PNG },
        {
          kind: "file" as const,
          name: "notes.txt",
          mimeType: "text/plain",
          data: new TextEncoder().encode(doc),
        },
      ].filter((f) => kinds.includes(f.kind));
      for (const [i, file] of files.entries()) {
        const text = `${marker}-${i}`;
        await h.fake.inject({ chatType, chatId, userId: ids.user, text, mention: true, media: [file] });
        await replyTo(text);
      }
      // A file that came as a message of its own (Feishu, WeCom) may reach the agent a turn later.
      const eventually = async (find: () => AgentTurn | undefined) => {
        const deadline = Date.now() + timeout;
        let turn = find();
        while (!turn && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          turn = find();
        }
        return turn;
      };
      const turnOf = async (text: string) => {
        const turn = await eventually(() => h.turns.find((t) => inputText(t).includes(text)));
        expect(turn, `the agent received no turn for ${text}`).toBeDefined();
        return turn!;
      };
      const imageOf = (t: AgentTurn) =>
        t.input
          .flatMap((m) => (typeof m.content === "string" ? [] : m.content))
          .find((p) => p.type === "image");
      // Where a photo carries no caption (WeCom), the text came as a message of its own.
      const photoTurn = await eventually(() => h.turns.slice(before).find((t) => imageOf(t) !== undefined));
      expect(photoTurn, "no turn received the photo as an image part").toBeDefined();
      const image = imageOf(photoTurn!);
      expect(image && "url" in image ? image.url : undefined).toBe(
        `data:image/png;base64,${Buffer.from(TINY_PNG).toString("base64")}`,
      );
      // A platform whose file messages carry no text (Feishu) delivers the text separately: the
      // document is found by its content.
      const docTurn = kinds.includes("file") ? await turnOf(doc) : undefined;
      for (const turn of [photoTurn!, ...(docTurn ? [docTurn] : [])]) {
        // No platform URL (with or without a token) reaches the model.
        expect(inputText(turn)).not.toMatch(/https?:\/\/|mxc:\/\//);
      }
    });

    test("media-out", async (ctx) => {
      if (!defaultCaps().mediaOut) return ctx.skip("the adapter does not declare mediaOut");
      if (!h.fake.media?.out || !h.fake.uploads)
        throw new Error("the fake must record uploads (media.out, uploads()), or opt out with a reason");
      const n = uniq("up");
      const { chatType, chatId } = dmOrGroup();
      const before = h.fake.uploads().length;
      await h.fake.inject({
        chatType,
        chatId,
        userId: ids.user,
        text: `[[upload:${n}.png]] [[upload:${n}.txt]] ${n}`,
        mention: true,
      });
      await replyTo(n);
      const deadline = Date.now() + timeout;
      let got: FakeUpload[] = [];
      while (Date.now() < deadline) {
        got = h.fake.uploads().slice(before);
        if (got.length >= 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(got).toHaveLength(2);
      // Documents keep their name everywhere; an image's name only where the platform's API carries one.
      expect(got[1]!.name).toBe(`${n}.txt`);
      for (const u of got) {
        expect(u.chatId).toBe(chatId);
        expect(u.account).toBe("default");
      }
      expect(Buffer.from(got[0]!.data).equals(Buffer.from(TINY_PNG))).toBe(true);
      expect(new TextDecoder().decode(got[1]!.data)).toBe(`conformance file ${n}.txt\n`);
    });

    test("stop-no-handles", async () => {
      await h.gateway.stop({ timeoutMs: 2000 });
      await h.fake.close();
      await h.bridge.close();
      await h.store.close();
      const deadline = Date.now() + 3000;
      while (handleCount() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(
        handleCount(),
        `open handles after stop: ${JSON.stringify(process.getActiveResourcesInfo())}`,
      ).toBeLessThanOrEqual(baseline);
      rmSync(h.home, { recursive: true, force: true });
      h = undefined as unknown as Harness;
    }, 10_000);
  });
}
