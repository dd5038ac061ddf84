import type { MatchKey, RouteMatch } from "../config/schema.ts";
import type { SessionSource } from "../sessions/source.ts";

/** The source field each match key reads. */
export const MATCH_FIELD: Record<MatchKey, keyof SessionSource> = {
  platform: "platform",
  account: "account",
  chat_id: "chatId",
  chat_type: "chatType",
  thread_id: "threadId",
  topic_id: "topicId",
  parent_chat_id: "parentChatId",
  guild_id: "guildId",
  user_id: "userId",
  user_id_alt: "userIdAlt",
};

/** A route's match as sets, compiled once. */
export type CompiledMatch = ReadonlyArray<readonly [keyof SessionSource, ReadonlySet<string>]>;

export function compileMatch(match: RouteMatch): CompiledMatch {
  const out: Array<readonly [keyof SessionSource, ReadonlySet<string>]> = [];
  for (const [key, value] of Object.entries(match) as Array<[MatchKey, string | string[] | undefined]>) {
    if (value === undefined) continue;
    out.push([MATCH_FIELD[key], new Set(Array.isArray(value) ? value : [value])]);
  }
  return out;
}

/**
 * Compiled matches by the match object they came from: the shadow check at config load and the router's
 * index of one config share one compilation (10,000 routes are 20,000+ sets) instead of each building its
 * own. A match object is never changed once parsed, so the cache never goes stale.
 */
const COMPILED = new WeakMap<RouteMatch, CompiledMatch>();

/**
 * One-value sets by their value, shared by every cached compilation that accepts just that value (a set
 * costs ~250 bytes; 10,000 routes name a few platforms and a few thousand chats). Bounded: emptied when
 * it grows past `MAX_SHARED`, after which new compilations start sharing afresh.
 */
const SHARED = new Map<string, ReadonlySet<string>>();
const MAX_SHARED = 100_000;

function sharedSet(value: string): ReadonlySet<string> {
  let set = SHARED.get(value);
  if (!set) {
    if (SHARED.size >= MAX_SHARED) SHARED.clear();
    SHARED.set(value, (set = new Set([value])));
  }
  return set;
}

/** `compileMatch`, once per match object, with one-value sets shared. */
export function compiledMatchOf(match: RouteMatch): CompiledMatch {
  let hit = COMPILED.get(match);
  if (!hit) {
    const out: Array<readonly [keyof SessionSource, ReadonlySet<string>]> = [];
    for (const [key, value] of Object.entries(match) as Array<[MatchKey, string | string[] | undefined]>) {
      if (value === undefined) continue;
      out.push([
        MATCH_FIELD[key],
        Array.isArray(value)
          ? value.length === 1
            ? sharedSet(value[0]!)
            : new Set(value)
          : sharedSet(value),
      ]);
    }
    COMPILED.set(match, (hit = out));
  }
  return hit;
}

/** The value a source has for a match field; the default account is spelled `default`. */
export function fieldValue(source: SessionSource, field: keyof SessionSource): string | undefined {
  if (field === "account") return source.account || "default";
  const v: unknown = source[field];
  return v === undefined || v === null || v === "" ? undefined : String(v);
}

export function matches(compiled: CompiledMatch, source: SessionSource): boolean {
  for (const [field, values] of compiled) {
    const v = fieldValue(source, field);
    if (v === undefined || !values.has(v)) return false;
  }
  return true;
}
