import { readdirSync, readFileSync, statSync } from "node:fs";
import { parse as parseYaml } from "yaml";

interface CachedText {
  mtimeMs: number;
  size: number;
  text: string;
}
interface CachedDir {
  mtimeMs: number;
  entries: string[];
}

const TEXT_CACHE = new Map<string, CachedText>();
const DIR_CACHE = new Map<string, CachedDir>();

/** A file's text, re-read only when its mtime or size changes; `undefined` when it does not exist. */
export function readCachedText(file: string): string | undefined {
  // No throw on a missing file: most homes lack some of these files, and an exception per turn is slow.
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    TEXT_CACHE.delete(file);
    return undefined;
  }
  const hit = TEXT_CACHE.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.text;
  const text = readFileSync(file, "utf8");
  TEXT_CACHE.set(file, { mtimeMs: st.mtimeMs, size: st.size, text });
  return text;
}

/** The sub-directory names of `dir`, re-listed only when the directory's mtime changes. */
export function listCachedDirs(dir: string): string[] {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    DIR_CACHE.delete(dir);
    return [];
  }
  const hit = DIR_CACHE.get(dir);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.entries;
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.isSymbolicLink())
    .map((e) => e.name)
    .filter((name) => !name.startsWith("."))
    .sort();
  DIR_CACHE.set(dir, { mtimeMs: st.mtimeMs, entries });
  return entries;
}

/** Forget cached content of `file` (after this process wrote it, in case mtime granularity hides the change). */
export function invalidateCached(file: string): void {
  TEXT_CACHE.delete(file);
}

export interface FrontMatter {
  data: Record<string, unknown>;
  body: string;
}

const FRONT_MATTER_RE = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

/** Split a Markdown file into its YAML front matter and body; malformed front matter reads as none. */
export function parseFrontMatter(text: string): FrontMatter {
  const m = FRONT_MATTER_RE.exec(text);
  if (!m) return { data: {}, body: text };
  let data: unknown;
  try {
    data = parseYaml(m[1] ?? "");
  } catch {
    return { data: {}, body: text.slice(m[0].length) };
  }
  const record =
    data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  return { data: record, body: text.slice(m[0].length) };
}
