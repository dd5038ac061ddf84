/**
 * The agent's Markdown → Telegram's HTML dialect (`parse_mode: "HTML"`), and → plain text for the
 * fallback when Telegram rejects the entities. One small parser, two sinks, so both outputs agree on
 * what is formatting and what is text. The visible text never grows, so a chunk that fits the limit
 * as Markdown still fits once converted.
 * @see https://core.telegram.org/bots/api#html-style
 */

interface Sink {
  text(s: string): string;
  bold(inner: string): string;
  italic(inner: string): string;
  strike(inner: string): string;
  spoiler(inner: string): string;
  code(raw: string): string;
  pre(raw: string, lang: string | undefined): string;
  link(inner: string, url: string): string;
  quote(inner: string): string;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, "&quot;");
}

const HTML_SINK: Sink = {
  text: escapeHtml,
  bold: (i) => `<b>${i}</b>`,
  italic: (i) => `<i>${i}</i>`,
  strike: (i) => `<s>${i}</s>`,
  spoiler: (i) => `<tg-spoiler>${i}</tg-spoiler>`,
  code: (raw) => `<code>${escapeHtml(raw)}</code>`,
  pre: (raw, lang) =>
    lang
      ? `<pre><code class="language-${lang}">${escapeHtml(raw)}</code></pre>`
      : `<pre>${escapeHtml(raw)}</pre>`,
  link: (inner, url) => `<a href="${escapeAttr(url)}">${inner}</a>`,
  quote: (i) => `<blockquote>${i}</blockquote>`,
};

const PLAIN_SINK: Sink = {
  text: (s) => s,
  bold: (i) => i,
  italic: (i) => i,
  strike: (i) => i,
  spoiler: (i) => i,
  code: (raw) => raw,
  pre: (raw) => raw,
  link: (inner, url) => (inner === url ? url : `${inner} (${url})`),
  quote: (i) => i,
};

/** Convert the agent's Markdown to Telegram HTML. */
export function markdownToTelegramHtml(markdown: string): string {
  return renderBlocks(markdown, HTML_SINK);
}

/** Strip Markdown to the text a reader sees: the plain-text fallback. */
export function markdownToPlainText(markdown: string): string {
  return renderBlocks(markdown, PLAIN_SINK);
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9}[.)])\s+(.*)$/;
const LANG = /^[\w#+.-]{1,32}$/;

function renderBlocks(markdown: string, sink: Sink): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let paragraph: string[] = [];
  const flushParagraph = () => {
    if (paragraph.length) out.push(renderInline(paragraph.join("\n"), sink));
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE_OPEN.exec(line);
    if (fence) {
      flushParagraph();
      const marker = fence[1]!;
      const lang = fence[2] && LANG.test(fence[2]) ? fence[2] : undefined;
      const body: string[] = [];
      // An unclosed fence (a chunk cut inside a block) runs to the end, as Markdown renders it.
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = lines[j]!.trim();
        if (close[0] === marker[0] && close.length >= marker.length && /^(`+|~+)$/.test(close)) break;
        body.push(lines[j]!);
      }
      out.push(sink.pre(body.join("\n"), lang));
      i = j;
      continue;
    }
    if (line.trim() === "") {
      flushParagraph();
      out.push("");
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flushParagraph();
      out.push(sink.bold(renderInline(heading[1]!, sink)));
      continue;
    }
    if (RULE.test(line)) {
      flushParagraph();
      out.push("———");
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote) {
      flushParagraph();
      const body = [quote[1]!];
      while (i + 1 < lines.length && QUOTE.test(lines[i + 1]!)) body.push(QUOTE.exec(lines[++i]!)![1]!);
      out.push(sink.quote(renderInline(body.join("\n"), sink)));
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet) {
      flushParagraph();
      out.push(`${bullet[1]}• ${renderInline(bullet[2]!, sink)}`);
      continue;
    }
    const ordered = ORDERED.exec(line);
    if (ordered) {
      flushParagraph();
      out.push(`${ordered[1]}${ordered[2]} ${renderInline(ordered[3]!, sink)}`);
      continue;
    }
    paragraph.push(line);
  }
  flushParagraph();
  return out.join("\n");
}

const ESCAPABLE = new Set("\\`*_~[]()#+-.!|>{}<");
const DELIMITERS = [
  { mark: "**", kind: "bold" },
  { mark: "__", kind: "bold" },
  { mark: "~~", kind: "strike" },
  { mark: "||", kind: "spoiler" },
  { mark: "*", kind: "italic" },
  { mark: "_", kind: "italic" },
] as const;
const SAFE_URL = /^(?:https?:\/\/|tg:\/\/|mailto:)[^\s<>"]+$/i;
const AUTOLINK = /^<((?:https?:\/\/|tg:\/\/|mailto:)[^\s<>"]+)>/i;

function renderInline(src: string, sink: Sink): string {
  let out = "";
  let text = "";
  const flush = () => {
    if (text) out += sink.text(text);
    text = "";
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === "\\" && i + 1 < src.length && ESCAPABLE.has(src[i + 1]!)) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    if (ch === "`") {
      const run = runLength(src, i, "`");
      const close = findCodeClose(src, i + run, run);
      if (close >= 0) {
        flush();
        out += sink.code(trimCodeSpan(src.slice(i + run, close)));
        i = close + run;
      } else {
        text += src.slice(i, i + run);
        i += run;
      }
      continue;
    }
    if (ch === "[") {
      const link = parseLink(src, i);
      if (link) {
        flush();
        out += sink.link(renderInline(link.text, sink), link.url);
        i = link.end;
        continue;
      }
    }
    if (ch === "<") {
      const auto = AUTOLINK.exec(src.slice(i));
      if (auto) {
        flush();
        out += sink.link(sink.text(auto[1]!), auto[1]!);
        i += auto[0].length;
        continue;
      }
    }
    const span = matchEmphasis(src, i);
    if (span) {
      flush();
      out += sink[span.kind](renderInline(src.slice(span.innerStart, span.innerEnd), sink));
      i = span.end;
      continue;
    }
    text += ch;
    i++;
  }
  flush();
  return out;
}

function runLength(src: string, at: number, ch: string): number {
  let n = 0;
  while (src[at + n] === ch) n++;
  return n;
}

function findCodeClose(src: string, from: number, run: number): number {
  for (let j = from; j < src.length; j++) {
    if (src[j] !== "`") continue;
    const n = runLength(src, j, "`");
    if (n === run) return j;
    j += n - 1;
  }
  return -1;
}

function trimCodeSpan(s: string): string {
  return s.length > 2 && s.startsWith(" ") && s.endsWith(" ") ? s.slice(1, -1) : s;
}

const isSpace = (c: string | undefined) => c === undefined || /\s/.test(c);
const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

function matchEmphasis(
  src: string,
  i: number,
):
  | { kind: (typeof DELIMITERS)[number]["kind"]; innerStart: number; innerEnd: number; end: number }
  | undefined {
  for (const { mark, kind } of DELIMITERS) {
    if (!src.startsWith(mark, i)) continue;
    const start = i + mark.length;
    if (isSpace(src[start])) return undefined;
    // snake_case and file_names_like_this stay literal: `_` only opens and closes at word edges.
    const underscore = mark[0] === "_";
    if (underscore && isWordChar(src[i - 1])) return undefined;
    const close = findClose(src, start, mark, underscore);
    if (close < 0) continue;
    return { kind, innerStart: start, innerEnd: close, end: close + mark.length };
  }
  return undefined;
}

function findClose(src: string, from: number, mark: string, underscore: boolean): number {
  for (let j = from; j < src.length; j++) {
    const c = src[j]!;
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "`") {
      const run = runLength(src, j, "`");
      const close = findCodeClose(src, j + run, run);
      if (close >= 0) j = close + run - 1;
      else j += run - 1;
      continue;
    }
    if (!src.startsWith(mark, j)) continue;
    // A single `*` must not close on half of a `**` pair (`*a **b** c*`).
    if (mark.length === 1 && src[j + 1] === mark) {
      j++;
      continue;
    }
    if (j === from || isSpace(src[j - 1])) continue;
    if (underscore && isWordChar(src[j + mark.length])) continue;
    return j;
  }
  return -1;
}

function parseLink(src: string, at: number): { text: string; url: string; end: number } | undefined {
  let depth = 0;
  let j = at;
  for (; j < src.length; j++) {
    const c = src[j];
    if (c === "\\") j++;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) break;
    else if (c === "\n" && src[j + 1] === "\n") return undefined;
  }
  if (j >= src.length || src[j + 1] !== "(") return undefined;
  // Balanced parentheses, so `https://en.wikipedia.org/wiki/Foo_(bar)` stays one URL.
  let close = j + 2;
  for (let parens = 1; close < src.length; close++) {
    if (src[close] === "(") parens++;
    else if (src[close] === ")" && --parens === 0) break;
    else if (src[close] === "\n") return undefined;
  }
  if (close >= src.length) return undefined;
  let target = src.slice(j + 2, close).trim();
  if (target.startsWith("<") && target.includes(">")) target = target.slice(1, target.indexOf(">"));
  const url = target.split(/\s+/)[0] ?? "";
  if (!SAFE_URL.test(url)) return undefined;
  return { text: src.slice(at + 1, j), url, end: close + 1 };
}
