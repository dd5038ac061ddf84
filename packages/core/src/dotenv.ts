import { readFileSync, statSync } from "node:fs";
import { secretValues } from "./redact.ts";

/** Parse a `.env` file's text: `KEY=value`, optional `export `, quotes, `#` comments (also after a quoted value). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = parseValue(m[2] ?? "");
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

function parseValue(value: string): string {
  const q = value[0];
  if (q === '"' || q === "'") {
    // The closing quote is the first one not escaped (only double quotes know escapes); anything after it is a comment.
    for (let i = 1; i < value.length; i++) {
      if (q === '"' && value[i] === "\\") {
        i++;
        continue;
      }
      if (value[i] === q) {
        const inner = value.slice(1, i);
        return q === "'" ? inner : inner.replace(/\\([nrt"\\])/g, (_m, c: string) => ESCAPES[c] ?? c);
      }
    }
  }
  const hash = value.search(/\s#/);
  return hash >= 0 ? value.slice(0, hash).trimEnd() : value;
}

const cache = new Map<string, { mtimeMs: number; size: number; values: Record<string, string> }>();

/** Read a `.env` file, cached until it changes on disk. A missing file is an empty map. */
export function readDotenv(file: string): Record<string, string> {
  let st: { mtimeMs: number; size: number };
  try {
    st = statSync(file);
  } catch {
    cache.delete(file);
    return {};
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.values;
  const values = parseDotenv(readFileSync(file, "utf8"));
  // Whatever a .env holds is a secret as far as the logs are concerned.
  secretValues.addDotenv(values);
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, values });
  return values;
}
