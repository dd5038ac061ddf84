import type { RouteConfig } from "../config/schema.ts";
import { DEFAULT_ACCOUNT } from "../platform.ts";
import type { SessionSource } from "../sessions/source.ts";
import { compileMatchShared } from "./match.ts";

/**
 * The source fields routes match on, in the order a route is filed under one of them: most selective
 * first. A route is filed under the first field its match names, so any route that could match a source
 * sits in the bucket of that source's value for that field.
 */
const SLOTS = [
  "chatId",
  "userId",
  "threadId",
  "topicId",
  "parentChatId",
  "guildId",
  "userIdAlt",
  "account",
  "platform",
  "chatType",
] as const satisfies ReadonlyArray<keyof SessionSource>;

const SLOT_OF = new Map<keyof SessionSource, number>(SLOTS.map((f, i) => [f, i]));

/**
 * A route as stored in one bucket: only the conditions the bucket does not already guarantee (its
 * platform group and its filing field are implied by where it was found). A single accepted value is
 * kept inline (`one`) — the common case — so the check is a string compare, not a Set lookup.
 */
export interface IndexedRoute {
  index: number;
  slots: number[];
  one: Array<string | undefined>;
  sets: Array<ReadonlySet<string>>;
}

/** A source value as the index compares it: a non-empty string, or absent (what `fieldValue` does for the scan). */
function norm(v: unknown): string | undefined {
  if (typeof v === "string") return v === "" ? undefined : v;
  return v === undefined || v === null ? undefined : String(v);
}

/**
 * Read a source into slot order once per lookup. Named reads keep property access cheap even though
 * sources come in many shapes; the default account is spelled `default`.
 */
function readSlots(s: SessionSource, out: Array<string | undefined>): void {
  out[0] = norm(s.chatId);
  out[1] = norm(s.userId);
  out[2] = norm(s.threadId);
  out[3] = norm(s.topicId);
  out[4] = norm(s.parentChatId);
  out[5] = norm(s.guildId);
  out[6] = norm(s.userIdAlt);
  out[7] = norm(s.account) ?? DEFAULT_ACCOUNT;
  out[8] = norm(s.platform);
  out[9] = norm(s.chatType);
}

function routeMatches(route: IndexedRoute, values: ReadonlyArray<string | undefined>): boolean {
  const { slots, one, sets } = route;
  for (let i = 0; i < slots.length; i++) {
    const v = values[slots[i]!];
    if (v === undefined) return false;
    const single = one[i];
    if (single !== undefined ? v !== single : !sets[i]!.has(v)) return false;
  }
  return true;
}

const PLATFORM_SLOT = SLOTS.indexOf("platform");

/** The routes of one platform (or of any platform): filed by their first other field, in declared order. */
interface Group {
  /** Routes that name nothing but the platform: they match every source of it. */
  all: IndexedRoute[];
  buckets: Array<Map<string, IndexedRoute[]> | undefined>;
  /** The slots that have buckets, so a lookup probes only those. */
  used: number[];
}

const newGroup = (): Group => ({ all: [], buckets: SLOTS.map(() => undefined), used: [] });

/** A compiled match: accepted values per slot, in slot order. */
type SlotMatch = Array<readonly [slot: number, values: ReadonlySet<string>]>;

/** A route as filed: where it is filed (`at`, -1 for none) and what is left to check. */
interface Filing {
  at: number;
  route: IndexedRoute;
}

/** The filing of one route, computed once and shared by every group it is filed in. */
function filingOf(index: number, match: SlotMatch): Filing {
  const at = match.findIndex(([slot]) => slot !== PLATFORM_SLOT);
  let left = 0;
  for (let i = 0; i < match.length; i++) if (match[i]![0] !== PLATFORM_SLOT && i !== at) left++;
  if (left === 0) {
    // Nothing left to check once filed (the common platform + chat route): share the empty lists.
    return { at, route: { index, slots: NONE, one: NONE, sets: NONE } };
  }
  const slots: number[] = [];
  const one: Array<string | undefined> = [];
  const sets: Array<ReadonlySet<string>> = [];
  for (let i = 0; i < match.length; i++) {
    const [slot, set] = match[i]!;
    if (slot === PLATFORM_SLOT || i === at) continue;
    slots.push(slot);
    one.push(set.size === 1 ? (set.values().next().value as string) : undefined);
    sets.push(set);
  }
  return { at, route: { index, slots, one, sets } };
}

/** The lists of a filed route with nothing left to check (never written to). */
const NONE: never[] = [];

function file(group: Group, match: SlotMatch, { at, route }: Filing): void {
  if (at < 0) {
    group.all.push(route);
    return;
  }
  const [slot, values] = match[at]!;
  let byValue = group.buckets[slot];
  if (!byValue) {
    group.buckets[slot] = byValue = new Map();
    group.used = group.buckets.flatMap((b, i) => (b ? [i] : []));
  }
  for (const value of values) {
    const list = byValue.get(value);
    if (list) list.push(route);
    else byValue.set(value, [route]);
  }
}

/** The lowest route index in `group` that matches, if below `best`; else `best`. */
function scan(group: Group, values: ReadonlyArray<string | undefined>, best: number): number {
  // Routes naming only the platform match every source of it: the first one is the only candidate.
  const all = group.all[0];
  if (all !== undefined && all.index < best) best = all.index;
  const { used, buckets } = group;
  for (let u = 0; u < used.length; u++) {
    const slot = used[u]!;
    const value = values[slot];
    if (value === undefined) continue;
    const list = buckets[slot]!.get(value);
    if (list === undefined) continue;
    for (let i = 0; i < list.length; i++) {
      const route = list[i]!;
      if (route.index >= best) break;
      if (routeMatches(route, values)) {
        best = route.index;
        break;
      }
    }
  }
  return best;
}

/**
 * Compile routes into an index: one group per platform a route names, then per-field buckets keyed by
 * value, each in declared order. Routes that name no platform are filed in every group too (and in a
 * group of their own for platforms no route names), so a lookup probes exactly one group: one bucket per
 * used field, each scanned only while its routes come before the best match so far. First-match
 * semantics hold while the cost does not grow with the number of routes.
 * Returns the index in `routes` of the first matching route, or -1.
 */
export function compileRouteIndex(routes: readonly RouteConfig[]): (source: SessionSource) => number {
  // Built in a function of its own: the lookup closure below keeps only the groups, not the compile's lists.
  const { byPlatform, otherPlatforms } = buildGroups(routes);
  const values = new Array<string | undefined>(SLOTS.length);

  return (source) => {
    readSlots(source, values);
    const platform = values[PLATFORM_SLOT];
    const group = (platform === undefined ? undefined : byPlatform.get(platform)) ?? otherPlatforms;
    const best = scan(group, values, Number.POSITIVE_INFINITY);
    return best === Number.POSITIVE_INFINITY ? -1 : best;
  };
}

function buildGroups(routes: readonly RouteConfig[]): {
  byPlatform: Map<string, Group>;
  otherPlatforms: Group;
} {
  const compiled = routes.map((r) =>
    compileMatchShared(r.match)
      .map(([field, set]) => [SLOT_OF.get(field)!, set] as const)
      .sort((a, b) => a[0] - b[0]),
  );
  const platformsOf = compiled.map((m) => m.find(([slot]) => slot === PLATFORM_SLOT)?.[1]);
  // Every group exists before filing starts, so filing in declared order keeps every bucket sorted.
  const byPlatform = new Map<string, Group>();
  for (const ps of platformsOf)
    for (const p of ps ?? []) if (!byPlatform.has(p)) byPlatform.set(p, newGroup());
  const otherPlatforms = newGroup();
  compiled.forEach((match, index) => {
    const platforms = platformsOf[index];
    const filing = filingOf(index, match);
    if (platforms) {
      for (const p of platforms) file(byPlatform.get(p)!, match, filing);
      return;
    }
    file(otherPlatforms, match, filing);
    for (const group of byPlatform.values()) file(group, match, filing);
  });
  return { byPlatform, otherPlatforms };
}
