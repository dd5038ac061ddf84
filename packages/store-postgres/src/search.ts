import type { MessageRole, SearchHit } from "@switchboard/core";
import { CJK_CLASS, SEARCH_CONFIG } from "./migrations.ts";
import type { Pool } from "./pool.ts";

const DEFAULT_SEARCH_LIMIT = 20;
/** How many of the newest messages a search reads first, before it asks the indexes. */
const RECENT_WINDOW = 5000;
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
  if (ts.length) parts.push(`m.search_vector @@ (${ts.join(" && ")})`);
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
  const limit = Math.max(0, Math.trunc(options.limit ?? DEFAULT_SEARCH_LIMIT));
  const values = [options.agentId ?? null, limit, ...where.values];
  const filter = `${where.sql} AND ($1::text IS NULL OR m.session_id IN (SELECT s.id FROM sessions s WHERE s.agent_id = $1))`;
  // The agent of a hit is looked up for the rows kept only.
  const fields = `m.session_id AS "sessionId", (SELECT s.agent_id FROM sessions s WHERE s.id = m.session_id) AS "agentId",
    m.id AS "messageId", m.role, m.content, m.created_at AS "createdAt"`;
  // Words in many messages: the newest ones hold enough hits, found without touching the index. When they
  // hold fewer, every older hit is older than all of them, so the answer is the full query's.
  let r = await pool.query<HitRow>(
    `SELECT ${fields} FROM (SELECT * FROM messages ORDER BY created_at DESC, id DESC LIMIT ${RECENT_WINDOW}) m
     WHERE ${filter} ORDER BY m.created_at DESC, m.id DESC LIMIT $2`,
    values,
  );
  if (r.rows.length < limit) {
    // Rarer words: every match from the indexes (a materialized set, so the planner cannot trade the index for
    // a scan in time order on a guess of how many rows match), then the newest of them.
    r = await pool.query<HitRow>(
      `WITH hits AS MATERIALIZED (SELECT m.id, m.created_at FROM messages m WHERE ${filter})
       SELECT ${fields} FROM messages m JOIN (SELECT id FROM hits ORDER BY created_at DESC, id DESC LIMIT $2) h ON h.id = m.id
       ORDER BY m.created_at DESC, m.id DESC`,
      values,
    );
  }
  return r.rows.map((row) => ({
    sessionId: row.sessionId,
    agentId: row.agentId,
    messageId: row.messageId,
    role: row.role,
    snippet: snippet(row.content, terms),
    createdAt: row.createdAt,
  }));
}
