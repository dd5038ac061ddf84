import type { RouteConfig } from "../config/schema.ts";
import type { SessionSource } from "../sessions/source.ts";
import { type CompiledMatch, compileMatchShared } from "./match.ts";

/** The values `m` accepts for `field`, if it names it (a match names a handful of fields: a scan is cheapest). */
function valuesOf(m: CompiledMatch, field: keyof SessionSource): ReadonlySet<string> | undefined {
  for (const [f, values] of m) if (f === field) return values;
  return undefined;
}

/** `a` covers `b` when every source `b` matches also matches `a`. */
function covers(a: CompiledMatch, b: CompiledMatch): boolean {
  for (const [field, aValues] of a) {
    const bValues = valuesOf(b, field);
    if (!bValues) return false;
    for (const v of bValues) if (!aValues.has(v)) return false;
  }
  return true;
}

/** The field a route is indexed by: its most selective one (chat and user ids before platform or chat type). */
const INDEX_ORDER: ReadonlyArray<keyof SessionSource> = [
  "chatId",
  "threadId",
  "topicId",
  "userId",
  "userIdAlt",
  "parentChatId",
  "guildId",
  "account",
  "chatType",
  "platform",
];

/**
 * Routes that can never fire because an earlier route matches everything they do. Each route is indexed
 * under one field's values; a route `a` can only cover `b` when `b` has that field with values all in `a`'s,
 * so `b` looks up one value per field it has, and compares itself only with the routes found there (and
 * with earlier match-everything routes). Linear in the number of routes for real configs.
 */
export function findShadowedRoutes(routes: RouteConfig[]): Array<{ route: number; by: number }> {
  // By field, then by value: no key string is built per route and field.
  const buckets = new Map<keyof SessionSource, Map<string, number[]>>();
  let firstMatchAll = -1;
  const out: Array<{ route: number; by: number }> = [];
  const compiled: CompiledMatch[] = [];
  routes.forEach((r, j) => {
    const fields = compileMatchShared(r.match);
    compiled.push(fields);
    let earliest = firstMatchAll;
    for (const [field, values] of fields) {
      const first = values.values().next().value as string;
      const bucket = buckets.get(field)?.get(first);
      if (!bucket) continue;
      for (const i of bucket) {
        if (earliest !== -1 && i >= earliest) break;
        if (covers(compiled[i]!, fields)) {
          earliest = i;
          break;
        }
      }
    }
    if (earliest !== -1) out.push({ route: j, by: earliest });
    const by = INDEX_ORDER.find((f) => valuesOf(fields, f) !== undefined);
    if (by === undefined) {
      if (firstMatchAll === -1) firstMatchAll = j;
      return;
    }
    let byValue = buckets.get(by);
    if (!byValue) buckets.set(by, (byValue = new Map()));
    for (const v of valuesOf(fields, by)!) {
      const list = byValue.get(v);
      if (list) list.push(j);
      else byValue.set(v, [j]);
    }
  });
  return out;
}
