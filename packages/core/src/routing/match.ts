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
 * One-value sets by their value, shared by every compilation that accepts just that value (a set costs
 * ~250 bytes; 10,000 routes name a few platforms and a few thousand chats, so the router's index keeps a
 * quarter of the sets). Bounded: emptied when it grows past `MAX_SHARED`, after which compilations share afresh.
 * (A cache of whole compilations by match object was tried: a WeakMap of 10,000 keys slows every GC.)
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

/** `compileMatch` with one-value sets shared (see `SHARED`): never change the sets it returns. */
export function compileMatchShared(match: RouteMatch): CompiledMatch {
  const out: Array<readonly [keyof SessionSource, ReadonlySet<string>]> = [];
  for (const [key, value] of Object.entries(match) as Array<[MatchKey, string | string[] | undefined]>) {
    if (value === undefined) continue;
    out.push([
      MATCH_FIELD[key],
      Array.isArray(value) ? (value.length === 1 ? sharedSet(value[0]!) : new Set(value)) : sharedSet(value),
    ]);
  }
  return out;
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
