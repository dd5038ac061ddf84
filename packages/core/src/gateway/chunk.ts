/** How a platform counts message length. */
export type LengthUnit = "utf16" | "bytes";

export function measure(text: string, unit: LengthUnit = "utf16"): number {
  return unit === "bytes" ? Buffer.byteLength(text, "utf8") : text.length;
}

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The fence opener line still open at the end of `text` (e.g. "```ts"), or undefined. */
function openFence(text: string, initial?: string): string | undefined {
  let open = initial;
  for (const line of text.split("\n")) {
    const m = FENCE_RE.exec(line);
    if (!m) continue;
    if (open === undefined) {
      open = line.trim();
      continue;
    }
    const openMarker = /^(`{3,}|~{3,})/.exec(open)?.[1] ?? "```";
    const marker = m[1]!;
    if (marker[0] === openMarker[0] && marker.length >= openMarker.length && m[2]!.trim() === "")
      open = undefined;
  }
  return open;
}

/** The longest prefix length (in UTF-16 units) of `text` whose measure fits `budget`, not splitting a surrogate pair. */
function fit(text: string, budget: number, unit: LengthUnit): number {
  if (measure(text, unit) <= budget) return text.length;
  let n: number;
  if (unit === "utf16") n = Math.max(0, budget);
  else {
    let lo = 0;
    let hi = Math.min(text.length, budget);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.byteLength(text.slice(0, mid), "utf8") <= budget) lo = mid;
      else hi = mid - 1;
    }
    n = lo;
  }
  const code = text.charCodeAt(n - 1);
  if (n > 0 && code >= 0xd800 && code <= 0xdbff) n -= 1;
  return n;
}

/** Where to cut `window`: a paragraph break, else a line break, else a sentence end, else a space. */
function breakPoint(window: string): number {
  const min = Math.floor(window.length * 0.3);
  const candidates: RegExp[] = [/\n\n/g, /\n/g, /[.!?。！？]\s/g, /\s/g];
  for (const re of candidates) {
    let best = -1;
    for (const m of window.matchAll(re)) {
      const end = (m.index ?? 0) + m[0].length;
      if (end >= min && end <= window.length) best = end;
    }
    if (best > 0) return best;
  }
  return window.length;
}

/**
 * Split a reply into chunks of at most `limit` (in `unit`). Prefers paragraph, line, sentence and word
 * boundaries; never leaves a code fence open across chunks: it is closed at the end of a chunk and
 * reopened (with its language) at the start of the next.
 */
export function splitMessage(text: string, limit: number, unit: LengthUnit = "utf16"): string[] {
  if (limit < 16) throw new Error(`splitMessage: limit ${limit} is too small`);
  if (measure(text, unit) <= limit) return text.length > 0 ? [text] : [];
  const chunks: string[] = [];
  let rest = text;
  let carried: string | undefined; // fence opener to reopen at the start of the next chunk
  while (rest.length > 0) {
    const prefix = carried ? `${carried}\n` : "";
    if (measure(prefix + rest, unit) <= limit) {
      chunks.push(prefix + rest);
      break;
    }
    // Reserve room for a closing fence in case the cut lands inside a code block.
    const closer = "\n```";
    const budget = limit - measure(prefix, unit) - measure(closer, unit);
    const n = fit(rest, budget, unit);
    let cut = breakPoint(rest.slice(0, n));
    if (cut <= 0) cut = Math.max(1, n);
    let body = rest.slice(0, cut);
    rest = rest.slice(cut);
    const stillOpen = openFence(body, carried);
    body = body.replace(/\s+$/, "");
    if (stillOpen) {
      const fenceChar = stillOpen.trim()[0] === "~" ? "~~~" : "```";
      chunks.push(`${prefix}${body}\n${fenceChar}`);
      carried = stillOpen;
      rest = rest.replace(/^\n/, "");
    } else {
      chunks.push(prefix + body);
      carried = undefined;
      rest = rest.replace(/^\s+/, "");
    }
  }
  return chunks.filter((c) => c.trim().length > 0);
}
