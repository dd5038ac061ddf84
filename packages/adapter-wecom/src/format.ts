/**
 * WeCom app text messages are plain text, so Markdown is flattened: emphasis markers dropped, links
 * written as `text (url)`, code fences unwrapped, headings and quotes stripped of their markers.
 */
export function markdownToPlain(markdown: string): string {
  const out: string[] = [];
  let inFence = false;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      out.push(line);
      continue;
    }
    let l = line;
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(l)) {
      out.push("");
      continue;
    }
    l = l.replace(/^(\s*)#{1,6}\s+/, "$1");
    l = l.replace(/^(\s*)>\s?/, "$1");
    l = l.replace(/^(\s*)[*+]\s+/, "$1- ");
    out.push(inline(l));
  }
  return out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function inline(text: string): string {
  // Code spans first, so nothing inside them is treated as Markdown.
  const spans: string[] = [];
  let t = text.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, _ticks: string, code: string) => {
    spans.push(code.trim() === "" ? code : code.replace(/^ (.*) $/, "$1"));
    return `\u0000${spans.length - 1}\u0000`;
  });
  t = t.replace(/!\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_m, alt: string, url: string) =>
    alt ? `${alt} (${url})` : url,
  );
  t = t.replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_m, label: string, url: string) =>
    label === url ? url : `${label} (${url})`,
  );
  t = t.replace(/<((?:https?|mailto):[^>\s]+)>/g, "$1");
  t = t.replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "$2");
  t = t.replace(/~~(?=\S)([\s\S]*?\S)~~/g, "$1");
  t = t.replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?!\w)/g, "$1$2");
  t = t.replace(/(^|[^\w_])_(?=\S)([^_]*?\S)_(?!\w)/g, "$1$2");
  t = t.replace(/\\([\\`*_{}[\]()#+\-.!~>|])/g, "$1");
  return t.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => spans[Number(i)] ?? "");
}

/** UTF-8 length of a string. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Split text into pieces of at most `maxBytes` UTF-8 bytes, preferring line then word boundaries and never
 * cutting a character in two. Core already chunks to the limit; this guards what formatting or a caller adds.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (byteLength(rest) > maxBytes) {
    // The longest prefix (in whole code points) that fits.
    let fit = 0;
    let bytes = 0;
    for (const ch of rest) {
      const b = byteLength(ch);
      if (bytes + b > maxBytes) break;
      bytes += b;
      fit += ch.length;
    }
    const window = rest.slice(0, fit);
    const nl = window.lastIndexOf("\n");
    const sp = window.lastIndexOf(" ");
    const cut = nl > fit / 2 ? nl + 1 : sp > fit / 2 ? sp + 1 : fit;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces.filter((p, i) => p.length > 0 || i === 0);
}
