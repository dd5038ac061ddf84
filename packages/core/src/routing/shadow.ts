import type { RouteConfig } from "../config/schema.ts";
import { type CompiledMatch, compileMatch } from "./match.ts";

/** `a` covers `b` when every source `b` matches also matches `a`. */
function covers(a: CompiledMatch, b: CompiledMatch): boolean {
  const bFields = new Map(b);
  for (const [field, aValues] of a) {
    const bValues = bFields.get(field);
    if (!bValues) return false;
    for (const v of bValues) if (!aValues.has(v)) return false;
  }
  return true;
}

/**
 * Routes that can never fire because an earlier route matches everything they do.
 * Only routes that could share a chat (same chat_id value, or no chat_id) are compared.
 */
export function findShadowedRoutes(routes: RouteConfig[]): Array<{ route: number; by: number }> {
  const compiled = routes.map((r) => compileMatch(r.match));
  const byChat = new Map<string, number[]>();
  const noChat: number[] = [];
  const out: Array<{ route: number; by: number }> = [];
  compiled.forEach((c, j) => {
    const chats = c.find(([f]) => f === "chatId")?.[1];
    const candidates = new Set<number>(noChat);
    if (chats) for (const id of chats) for (const i of byChat.get(id) ?? []) candidates.add(i);
    const earliest = [...candidates].sort((x, y) => x - y).find((i) => covers(compiled[i]!, c));
    if (earliest !== undefined) out.push({ route: j, by: earliest });
    if (chats) {
      for (const id of chats) {
        const list = byChat.get(id) ?? [];
        list.push(j);
        byChat.set(id, list);
      }
    } else noChat.push(j);
  });
  return out;
}
