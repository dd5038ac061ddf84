import type { RouteConfig, RouteMatch } from "../../src/config/schema.ts";
import type { ChatType } from "../../src/platform.ts";
import type { SessionSource } from "../../src/sessions/source.ts";

/** mulberry32: a small seeded PRNG so a failing random case can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLATFORMS = ["telegram", "discord", "slack", "matrix", "feishu", "wecom", "api_server"];
const ACCOUNTS = ["default", "support", "ops", "sales"];
const CHAT_TYPES: ChatType[] = ["dm", "group", "channel", "thread"];
const AGENTS = Array.from({ length: 20 }, (_, i) => `agent-${i}`);

/** Value pools sized so random sources hit routes often, including several routes at once. */
function pools(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  return {
    pick,
    platform: () => pick(PLATFORMS),
    account: () => pick(ACCOUNTS),
    chatType: () => pick(CHAT_TYPES),
    chat: (() => {
      const xs = ids("-100", 3000);
      return () => pick(xs);
    })(),
    user: (() => {
      const xs = ids("u", 5000);
      return () => pick(xs);
    })(),
    thread: (() => {
      const xs = ids("t", 20);
      return () => pick(xs);
    })(),
    guild: (() => {
      const xs = ids("g", 40);
      return () => pick(xs);
    })(),
    topic: (() => {
      const xs = ids("topic", 15);
      return () => pick(xs);
    })(),
    alt: (() => {
      const xs = ids("alt", 200);
      return () => pick(xs);
    })(),
  };
}

/** `n` routes shaped like real configs: mostly platform + chat, some per user, guild, account or chat type. */
export function randomRoutes(n: number, seed = 1): RouteConfig[] {
  const rand = seededRandom(seed);
  const p = pools(rand);
  const routes: RouteConfig[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    let match: RouteMatch;
    if (r < 0.55) match = { platform: p.platform(), chat_id: p.chat() };
    else if (r < 0.67) match = { platform: p.platform(), chat_id: p.chat(), thread_id: p.thread() };
    else if (r < 0.75) match = { platform: p.platform(), chat_id: [p.chat(), p.chat(), p.chat()] };
    else if (r < 0.83) match = { user_id: p.user() };
    else if (r < 0.87) match = { platform: p.platform(), user_id: [p.user(), p.user()] };
    else if (r < 0.91) match = { guild_id: p.guild(), chat_type: p.chatType() };
    else if (r < 0.94) match = { parent_chat_id: p.chat() };
    else if (r < 0.96) match = { platform: p.platform(), topic_id: p.topic() };
    else if (r < 0.98) match = { user_id_alt: p.alt() };
    else if (r < 0.999)
      match = { platform: p.platform(), account: p.account(), chat_id: p.chat(), chat_type: p.chatType() };
    // A few broad routes, anywhere in the list, as real configs have: they must not win over earlier specific ones.
    else if (r < 0.9995) match = { platform: p.platform(), account: p.account() };
    else match = { platform: [p.platform(), p.platform()], chat_type: p.chatType() };
    routes.push({ match, agent: p.pick(AGENTS) });
  }
  return routes;
}

/** Random inbound sources over the same value pools. */
export function randomSources(n: number, seed = 2): SessionSource[] {
  const rand = seededRandom(seed);
  const p = pools(rand);
  const maybe = <T>(prob: number, f: () => T): T | undefined => (rand() < prob ? f() : undefined);
  return Array.from({ length: n }, () => {
    const s: SessionSource = {
      platform: p.platform(),
      chatType: p.chatType(),
      chatId: p.chat(),
      userId: p.user(),
    };
    const account = maybe(0.5, p.account);
    if (account) s.account = account;
    const thread = maybe(0.3, p.thread);
    if (thread) s.threadId = thread;
    const topic = maybe(0.2, p.topic);
    if (topic) s.topicId = topic;
    const parent = maybe(0.2, p.chat);
    if (parent) s.parentChatId = parent;
    const guild = maybe(0.3, p.guild);
    if (guild) s.guildId = guild;
    const alt = maybe(0.2, p.alt);
    if (alt) s.userIdAlt = alt;
    return s;
  });
}
