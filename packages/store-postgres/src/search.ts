import type { MessageRole, SearchHit } from "@switchboard/core";
import { CJK_CLASS, SEARCH_CONFIG } from "./migrations.ts";
import type { Pool } from "./pool.ts";

const DEFAULT_SEARCH_LIMIT = 20;
/** Tokens of a snippet, as SQLite's `snippet(…, 16)`. */
const SNIPPET_TOKENS = 16;
const WORD = /[\p{L}\p{N}]+/gu;
const HAS_WORD = /[\p{L}\p{N}]/u;
const CJK = new RegExp(CJK_CLASS, "u");

/** One word of a user's query. */
type Term =
  /** Matched through `tsvector`: the word's tokens as a phrase, the last one a prefix when `prefix`. */
  | { kind: "words"; tokens: string[]; text: string; prefix: boolean }
  /** Matched by substring through the trigram index (text in scripts without spaces between words). */
  | { kind: "substring"; text: string };

/** Case and accent folded, as the `switchboard_search` configuration (simple + unaccent) folds. */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/**
 * Read user text as plain words, never as query syntax: every whitespace-separated word must appear; a
 * trailing `*` makes its last token a prefix; a word holding CJK characters is matched by substring.
 */
export function parseSearch(text: string): Term[] {
  const terms: Term[] = [];
  for (const word of text.replaceAll("\u0000", "").split(/\s+/)) {
    const prefix = word.length > 1 && word.endsWith("*");
    const body = (prefix ? word.slice(0, -1) : word).replace(/\*+$/, "");
    if (!HAS_WORD.test(body)) continue;
    const tokens = body.match(WORD) ?? [];
    if (CJK.test(body)) {
      for (const t of tokens) terms.push({ kind: "substring", text: t });
    } else {
      terms.push({ kind: "words", tokens, text: body, prefix });
    }
  }
  return terms;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The WHERE clause and parameters of a parsed query (parameters numbered from `first`). */
export function searchCondition(terms: readonly Term[], first: number): { sql: string; values: string[] } {
  const values: string[] = [];
  const ts: string[] = [];
  const like: string[] = [];
  for (const t of terms) {
    const n = first + values.length;
    if (t.kind === "substring") {
      values.push(`%${likeEscape(t.text)}%`);
      like.push(`m.content ILIKE $${n}`);
    } else if (t.prefix) {
      // Tokens are letters and digits only: quoted, they cannot be tsquery syntax.
      values.push(t.tokens.map((tok, i) => `'${tok}'${i === t.tokens.length - 1 ? ":*" : ""}`).join(" <-> "));
      ts.push(`to_tsquery('${SEARCH_CONFIG}', $${n})`);
    } else {
      values.push(t.text);
      ts.push(`phraseto_tsquery('${SEARCH_CONFIG}', $${n})`);
    }
  }
  const parts: string[] = [];
  // The same expression as idx_messages_fts, so the GIN index answers it.
  if (ts.length) parts.push(`to_tsvector('${SEARCH_CONFIG}', m.content) @@ (${ts.join(" && ")})`);
  // The partial trigram index covers exactly the rows matching this predicate (same text as in v1).
  if (like.length) parts.push(`m.content ~ '${CJK_CLASS}'`, ...like);
  return { sql: parts.join(" AND "), values };
}

/** Where in `content` the terms match, as [start, end) ranges in order. */
function matchRanges(content: string, terms: readonly Term[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const words = new Set<string>();
  const prefixes: string[] = [];
  for (const t of terms) {
    if (t.kind !== "words") continue;
    t.tokens.forEach((tok, i) => {
      if (t.prefix && i === t.tokens.length - 1) prefixes.push(fold(tok));
      else words.add(fold(tok));
    });
  }
  for (const m of content.matchAll(WORD)) {
    const f = fold(m[0]);
    if (words.has(f) || prefixes.some((p) => f.startsWith(p))) ranges.push([m.index, m.index + m[0].length]);
  }
  const lower = content.toLowerCase();
  for (const t of terms) {
    if (t.kind !== "substring") continue;
    const needle = t.text.toLowerCase();
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + needle.length)) {
      ranges.push([at, at + needle.length]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return merged;
}

/**
 * A short excerpt around the first match, matches between `>>>` and `<<<`, `…` where text was cut: the
 * format of the SQLite store's `snippet(messages_fts, 0, '>>>', '<<<', '…', 16)`.
 */
export function snippet(content: string, terms: readonly Term[]): string {
  const ranges = matchRanges(content, terms);
  const tokens = [...content.matchAll(WORD)].map((m) => [m.index, m.index + m[0].length] as const);
  let from = 0;
  let to = content.length;
  let head = "";
  let tail = "";
  if (tokens.length > SNIPPET_TOKENS) {
    const firstMatch = ranges[0]?.[0] ?? 0;
    let first = tokens.findIndex(([, end]) => end > firstMatch);
    if (first < 0) first = 0;
    const start = Math.max(0, Math.min(first - 2, tokens.length - SNIPPET_TOKENS));
    const end = start + SNIPPET_TOKENS - 1;
    if (start > 0) {
      from = tokens[start]![0];
      head = "…";
    }
    if (end < tokens.length - 1) {
      to = tokens[end]![1];
      tail = "…";
    }
  }
  let out = head;
  let at = from;
  for (const [s, e] of ranges) {
    if (e <= from || s >= to) continue;
    const a = Math.max(s, from);
    const b = Math.min(e, to);
    out += `${content.slice(at, a)}>>>${content.slice(a, b)}<<<`;
    at = b;
  }
  return out + content.slice(at, to) + tail;
}

interface HitRow {
  sessionId: string;
  agentId: string;
  messageId: number;
  role: MessageRole;
  content: string;
  createdAt: number;
}

/** Full-text search over message content, newest first. */
export async function searchMessages(
  pool: Pool,
  query: string,
  options: { agentId?: string; limit?: number } = {},
): Promise<SearchHit[]> {
  const terms = parseSearch(query);
  if (terms.length === 0) return [];
  const where = searchCondition(terms, 3);
  const r = await pool.query<HitRow>(
    `SELECT m.session_id AS "sessionId", s.agent_id AS "agentId", m.id AS "messageId", m.role, m.content,
      m.created_at AS "createdAt"
     FROM messages m JOIN sessions s ON s.id = m.session_id
     WHERE ${where.sql} AND ($1::text IS NULL OR s.agent_id = $1)
     ORDER BY m.created_at DESC, m.id DESC LIMIT $2`,
    [
      options.agentId ?? null,
      Math.max(0, Math.trunc(options.limit ?? DEFAULT_SEARCH_LIMIT)),
      ...where.values,
    ],
  );
  return r.rows.map((row) => ({
    sessionId: row.sessionId,
    agentId: row.agentId,
    messageId: row.messageId,
    role: row.role,
    snippet: snippet(row.content, terms),
    createdAt: row.createdAt,
  }));
}
