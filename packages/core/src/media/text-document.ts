import type { MediaFile } from "../platform.ts";

const TEXT_TYPES = new Set([
  "application/json",
  "application/ld+json",
  "application/xml",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/javascript",
  "application/x-ndjson",
  "application/sql",
  "application/csv",
]);
const TEXT_EXTENSIONS =
  /\.(txt|md|markdown|csv|tsv|json|jsonl|ndjson|ya?ml|toml|ini|cfg|conf|log|xml|html?|css|js|mjs|cjs|ts|tsx|jsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|bash|zsh|sql|env|properties|tex|rst|org)$/i;

/** A file the model can read as text: `text/*`, JSON, YAML, XML…, or a known text extension. */
export function isTextDocument(mimeType: string, name: string): boolean {
  if (mimeType.startsWith("text/") || TEXT_TYPES.has(mimeType) || mimeType.endsWith("+json")) return true;
  return (mimeType === "application/octet-stream" || mimeType === "") && TEXT_EXTENSIONS.test(name);
}

/**
 * The document as text, at most `maxChars` characters (a cut is said in the text). `undefined` when the
 * bytes are not UTF-8 text after all (a binary file with a `.txt` name).
 */
export function documentText(file: MediaFile, maxChars: number): string | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(file.data);
  } catch {
    return undefined;
  }
  if (text.includes("\u0000")) return undefined;
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}\n[… cut: the document has ${text.length} characters, the first ${maxChars} are shown]`;
}
