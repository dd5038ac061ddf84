import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.ts";
import type { RouteConfig } from "../src/config/schema.ts";
import { memoryLogger } from "../src/logger.ts";
import { definePlugin, HookRunner } from "../src/plugins.ts";
import { type CompiledMatch, compileMatch } from "../src/routing/match.ts";
import { createLinearResolver, createRouter } from "../src/routing/router.ts";
import { findShadowedRoutes } from "../src/routing/shadow.ts";
import type { SessionSource } from "../src/sessions/source.ts";
import { randomRoutes, randomSources } from "./helpers/random-routes.ts";

const tgGroup = (chatId: string, extra: Partial<SessionSource> = {}): SessionSource => ({
  platform: "telegram",
  chatType: "group",
  chatId,
  userId: "7",
  ...extra,
});

const ROUTES: RouteConfig[] = [
  { match: { platform: "telegram", chat_id: "-1009999", thread_id: "7" }, agent: "ops" },
  { match: { platform: "telegram", account: "support" }, agent: "support" },
  { match: { platform: "api_server", chat_id: "ops-console" }, agent: "ops" },
  {
    match: { platform: "discord", guild_id: ["g1", "g2"], chat_type: ["group", "thread"] },
    agent: "community",
  },
  { match: { user_id: "vip-1" }, agent: "vip" },
];

describe("route matching", () => {
  const router = createRouter({ routes: ROUTES, default_agent: "main" });

  it("routes a Telegram topic to the agent of its route", () => {
    expect(router.match(tgGroup("-1009999", { threadId: "7" }))).toEqual({
      agentId: "ops",
      by: "route",
      route: 0,
    });
    expect(router.match(tgGroup("-1009999", { threadId: "8" })).by).toBe("default");
  });

  it("routes by account, treating a missing account as the default one", () => {
    expect(router.match(tgGroup("-1", { account: "support" }))).toMatchObject({
      agentId: "support",
      route: 1,
    });
    expect(router.match(tgGroup("-1", { account: "default" })).by).toBe("default");
    const defaults = createRouter({ routes: [{ match: { account: "default" }, agent: "x" }] });
    expect(defaults.match(tgGroup("-1"))).toMatchObject({ agentId: "x", route: 0 });
    expect(defaults.match(tgGroup("-1", { account: "support" })).by).toBe("default");
  });

  it("accepts any value of a list and requires every key", () => {
    const d = (guildId: string, chatType: SessionSource["chatType"]): SessionSource => ({
      platform: "discord",
      chatType,
      chatId: "c",
      guildId,
    });
    expect(router.match(d("g1", "group")).agentId).toBe("community");
    expect(router.match(d("g2", "thread")).agentId).toBe("community");
    expect(router.match(d("g3", "group")).by).toBe("default");
    expect(router.match(d("g1", "channel")).by).toBe("default");
    expect(router.match({ platform: "slack", chatType: "group", chatId: "c", guildId: "g1" }).by).toBe(
      "default",
    );
  });

  it("matches each of the ten keys on its source field", () => {
    const keys: Array<[RouteConfig["match"], SessionSource]> = [
      [{ platform: "matrix" }, { platform: "matrix", chatType: "dm" }],
      [{ account: "b2" }, { platform: "x", account: "b2", chatType: "dm" }],
      [{ chat_id: "c1" }, { platform: "x", chatType: "dm", chatId: "c1" }],
      [{ chat_type: "channel" }, { platform: "x", chatType: "channel" }],
      [{ thread_id: "t1" }, { platform: "x", chatType: "thread", threadId: "t1" }],
      [{ topic_id: "tp" }, { platform: "x", chatType: "group", topicId: "tp" }],
      [{ parent_chat_id: "p1" }, { platform: "x", chatType: "thread", parentChatId: "p1" }],
      [{ guild_id: "g" }, { platform: "x", chatType: "group", guildId: "g" }],
      [{ user_id: "u" }, { platform: "x", chatType: "dm", userId: "u" }],
      [{ user_id_alt: "ua" }, { platform: "x", chatType: "dm", userIdAlt: "ua" }],
    ];
    const r = createRouter({ routes: keys.map(([match], i) => ({ match, agent: `a${i}` })) });
    keys.forEach(([, source], i) => {
      expect(r.match(source)).toEqual({ agentId: `a${i}`, by: "route", route: i });
    });
    // An empty string is an absent field, never a match.
    expect(r.match({ platform: "y", chatType: "dm", chatId: "", userId: "" }).by).toBe("default");
  });

  it("keeps first-match order across different index buckets", () => {
    // A broad platform route declared before a specific chat route wins; declared after, it loses.
    const routes: RouteConfig[] = [
      { match: { platform: "telegram", chat_type: "group" }, agent: "broad" },
      { match: { platform: "telegram", chat_id: "-1" }, agent: "specific" },
      { match: { user_id: "7" }, agent: "user" },
    ];
    expect(createRouter({ routes }).match(tgGroup("-1"))).toMatchObject({ agentId: "broad", route: 0 });
    const reversed = [...routes].reverse();
    expect(createRouter({ routes: reversed }).match(tgGroup("-1"))).toMatchObject({
      agentId: "user",
      route: 0,
    });
    expect(createRouter({ routes: [routes[1]!, routes[0]!] }).match(tgGroup("-1"))).toMatchObject({
      agentId: "specific",
      route: 0,
    });
    expect(createRouter({ routes: [routes[1]!, routes[0]!] }).match(tgGroup("-2"))).toMatchObject({
      agentId: "broad",
      route: 1,
    });
  });

  it("falls back to default_agent, then main", () => {
    expect(createRouter({ routes: ROUTES, default_agent: "support" }).match(tgGroup("-5"))).toEqual({
      agentId: "support",
      by: "default",
    });
    expect(createRouter({ routes: ROUTES }).match(tgGroup("-5"))).toEqual({ agentId: "main", by: "default" });
    expect(createRouter({ routes: [] }).match(tgGroup("-5"))).toEqual({ agentId: "main", by: "default" });
  });

  it("answers the same way every time (resolution is idempotent)", async () => {
    const s = tgGroup("-1009999", { threadId: "7" });
    const first = await router.resolve(s);
    for (let i = 0; i < 5; i++) expect(await router.resolve(s)).toEqual(first);
    expect(s).toEqual(tgGroup("-1009999", { threadId: "7" }));
  });
});

describe("selectAgent hooks", () => {
  const agents = ["main", "ops", "support", "vip"];

  it("puts a hook's answer above routes and passes it the routed agent", async () => {
    const seen: string[] = [];
    const plugin = definePlugin({
      name: "vip-router",
      hooks: {
        selectAgent: ({ agentId, source }) => {
          seen.push(`${agentId}:${source.chatId}`);
          return source.chatId === "-1009999" ? "vip" : undefined;
        },
      },
    });
    const router = createRouter({ routes: ROUTES, agents }, { hooks: [plugin] });
    expect(await router.resolve(tgGroup("-1009999", { threadId: "7" }))).toEqual({
      agentId: "vip",
      by: "hook",
      plugin: "vip-router",
    });
    expect(await router.resolve(tgGroup("-1009999", { threadId: "7", chatId: "-2" }))).toEqual({
      agentId: "main",
      by: "default",
    });
    expect(seen).toEqual(["ops:-1009999", "main:-2"]);
  });

  it("takes the first non-empty answer across plugins", async () => {
    const router = createRouter(
      { routes: [], agents },
      {
        hooks: [
          definePlugin({ name: "empty", hooks: { selectAgent: () => "" } }),
          definePlugin({ name: "nothing", hooks: { selectAgent: async () => null } }),
          definePlugin({ name: "ops", hooks: { selectAgent: async () => "ops" } }),
          definePlugin({ name: "support", hooks: { selectAgent: () => "support" } }),
        ],
      },
    );
    expect(await router.resolve(tgGroup("-1"))).toEqual({ agentId: "ops", by: "hook", plugin: "ops" });
  });

  it("ignores a hook naming an unknown agent, with a warning", async () => {
    const logger = memoryLogger();
    const router = createRouter(
      { routes: ROUTES, agents },
      { hooks: [definePlugin({ name: "typo", hooks: { selectAgent: () => "suport" } })], logger },
    );
    expect(await router.resolve(tgGroup("-1", { account: "support" }))).toEqual({
      agentId: "support",
      by: "route",
      route: 1,
    });
    const warning = logger.entries.find((e) => e.level === "warn");
    expect(warning?.msg).toMatch(/typo chose agent "suport", which is not defined/);
  });

  it("skips a throwing hook, logs it, and asks the next plugin", async () => {
    const logger = memoryLogger();
    const hooks = new HookRunner(
      [
        definePlugin({
          name: "broken",
          hooks: {
            selectAgent: () => {
              throw new Error("boom");
            },
          },
        }),
        definePlugin({ name: "fine", hooks: { selectAgent: () => "ops" } }),
      ],
      logger,
    );
    const router = createRouter({ routes: [], agents }, { hooks, logger });
    expect(await router.resolve(tgGroup("-1"))).toEqual({ agentId: "ops", by: "hook", plugin: "fine" });
    expect(logger.entries.find((e) => e.level === "error")?.msg).toMatch(/broken\.selectAgent failed/);
    const onlyBroken = createRouter({ routes: [], agents }, { hooks: [hooks.plugins[0]!], logger });
    expect(await onlyBroken.resolve(tgGroup("-1"))).toEqual({ agentId: "main", by: "default" });
  });

  it("knows the agents of a loaded config", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-route-"));
    try {
      writeFileSync(
        join(home, "config.yaml"),
        "agents:\n  ops: {}\n  support: {}\nroutes:\n  - match: { platform: telegram, chat_id: '-1' }\n    agent: ops\n",
      );
      const config = await loadConfig({ home, env: {} });
      const router = createRouter(config, {
        hooks: [definePlugin({ name: "p", hooks: { selectAgent: () => "support" } })],
      });
      expect(router.match(tgGroup("-1"))).toMatchObject({ agentId: "ops", route: 0 });
      expect(await router.resolve(tgGroup("-1"))).toMatchObject({ agentId: "support", by: "hook" });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("the compiled index", () => {
  it("gives the same answer as a linear scan for 20,000 random sources over 10,000 random routes", () => {
    const routes = randomRoutes(10_000, 42);
    const sources = randomSources(20_000, 43);
    const router = createRouter({ routes });
    const linear = createLinearResolver(routes);
    let routed = 0;
    let late = 0;
    const mismatches: unknown[] = [];
    for (const s of sources) {
      const got = router.match(s);
      const want = linear(s);
      if (got.agentId !== want.agentId || got.by !== want.by || got.route !== want.route)
        mismatches.push({ s, got, want });
      if (got.by === "route") routed++;
      if ((got.route ?? 0) >= 5_000) late++;
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The random data exercises both outcomes and routes deep in the list, not just the first few.
    expect(routed).toBeGreaterThan(5_000);
    expect(routed).toBeLessThan(19_000);
    expect(late).toBeGreaterThan(1_000);
  }, 60_000);

  it("agrees with the linear scan on small hand-written overlaps", () => {
    const routes: RouteConfig[] = [
      { match: { chat_id: ["a", "b"], user_id: "u1" }, agent: "x" },
      { match: { platform: ["telegram", "slack"], chat_id: "a" }, agent: "y" },
      { match: { platform: "telegram" }, agent: "z" },
      { match: { chat_type: "dm" }, agent: "w" },
      { match: { account: ["default", "b"], platform: "slack" }, agent: "v" },
    ];
    const router = createRouter({ routes });
    const linear = createLinearResolver(routes);
    for (const platform of ["telegram", "slack", "discord"]) {
      for (const chatId of ["a", "b", "c", undefined]) {
        for (const userId of ["u1", "u2", undefined]) {
          for (const account of [undefined, "b", "c"]) {
            for (const chatType of ["dm", "group"] as const) {
              const s: SessionSource = {
                platform,
                chatType,
                ...(chatId ? { chatId } : {}),
                ...(userId ? { userId } : {}),
                ...(account ? { account } : {}),
              };
              expect(router.match(s)).toEqual(linear(s));
            }
          }
        }
      }
    }
  });

  it("compares numeric ids from an untyped adapter as strings, in the index and the scan alike", () => {
    const routes: RouteConfig[] = [
      { match: { platform: "telegram", chat_id: "-100", user_id: "7" }, agent: "ops" },
    ];
    const loose = {
      platform: "telegram",
      chatType: "group",
      chatId: -100,
      userId: 7,
      threadId: null,
    } as unknown as SessionSource;
    expect(createRouter({ routes }).match(loose)).toEqual({ agentId: "ops", by: "route", route: 0 });
    expect(createLinearResolver(routes)(loose)).toEqual({ agentId: "ops", by: "route", route: 0 });
  });
});

describe("shadowed routes", () => {
  it("warns about a route an earlier one fully covers", () => {
    const routes: RouteConfig[] = [
      { match: { platform: "telegram" }, agent: "a" },
      { match: { platform: "telegram", chat_id: "-1" }, agent: "b" },
      { match: { platform: "slack", chat_id: ["c1", "c2"] }, agent: "c" },
      { match: { platform: "slack", chat_id: "c2", user_id: "u" }, agent: "d" },
      { match: { platform: "slack", chat_id: ["c2", "c3"] }, agent: "e" },
      { match: { chat_type: "dm" }, agent: "f" },
      { match: { chat_type: ["dm", "group"] }, agent: "g" },
    ];
    expect(findShadowedRoutes(routes)).toEqual([
      { route: 1, by: 0 },
      { route: 3, by: 2 },
    ]);
  });

  it("finds the same shadowed routes, each with its earliest cover, as comparing every pair", () => {
    // Random configs plus broad routes (match-all, platform-only, user-only) so every index path is used.
    const routes: RouteConfig[] = [
      ...randomRoutes(1500, 5),
      { match: { platform: "telegram" }, agent: "x" },
      ...randomRoutes(500, 6),
      { match: {}, agent: "y" },
      ...randomRoutes(300, 8),
    ];
    const compiled = routes.map((r) => compileMatch(r.match));
    const covers = (a: CompiledMatch, b: CompiledMatch) =>
      a.every(([f, values]) => {
        const bv = b.find(([g]) => g === f)?.[1];
        return bv !== undefined && [...bv].every((v) => values.has(v));
      });
    const expected: Array<{ route: number; by: number }> = [];
    for (let j = 0; j < compiled.length; j++) {
      for (let i = 0; i < j; i++) {
        if (covers(compiled[i]!, compiled[j]!)) {
          expected.push({ route: j, by: i });
          break;
        }
      }
    }
    expect(expected.length).toBeGreaterThan(300);
    expect(findShadowedRoutes(routes)).toEqual(expected);
  });

  it("reports shadowed routes as config warnings", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-shadow-"));
    try {
      writeFileSync(
        join(home, "config.yaml"),
        [
          "agents: { ops: {}, support: {} }",
          "routes:",
          "  - { match: { platform: telegram, account: support }, agent: support }",
          "  - { match: { platform: telegram, account: support, chat_id: '-1' }, agent: ops }",
          "  - { match: { platform: telegram, chat_id: '-1' }, agent: ops }",
        ].join("\n"),
      );
      const config = await loadConfig({ home, env: {} });
      expect(config.warnings).toEqual(["routes[1] can never match: routes[0] matches everything it does"]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
