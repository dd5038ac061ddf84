/**
 * Markdown → the HTML subset Matrix clients render in `formatted_body` (`org.matrix.custom.html`).
 * A small converter on purpose: agents write plain CommonMark-ish Markdown (bold, italic, code,
 * fences, links, lists, quotes, headings), and everything else is escaped text, never raw HTML.
 * The same rules render the plain-text `body` that goes with it.
 * @see https://spec.matrix.org/v1.12/client-server-api/#mroommessage-msgtypes
 */

const SAFE_LINK = /^(https?:|mailto:|matrix:)/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;

const CODE_SPAN = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;
const LINK = /\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const BARE_URL = /(^|[\s(])(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;
/** Bold, italic (`*`/`_`) and strikethrough: pattern, HTML replacement, plain replacement. */
const EMPHASIS: Array<[RegExp, string, string]> = [
  [/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>", "$1"],
  [/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, "$1<strong>$2</strong>", "$1$2"],
  [/(^|[^*\w])\*(?=[^\s*])([^*]*?[^\s*])\*(?!\*)/g, "$1<em>$2</em>", "$1$2"],
  [/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, "$1<em>$2</em>", "$1$2"],
  [/~~(?=\S)([\s\S]*?\S)~~/g, "<del>$1</del>", "$1"],
];

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function emphasis(text: string, mode: "html" | "plain"): string {
  return EMPHASIS.reduce((s, [re, html, plain]) => s.replace(re, mode === "html" ? html : plain), text);
}

/** Inline Markdown (code spans, links, bold, italic, strikethrough) of one line or paragraph → HTML. */
export function inlineToHtml(text: string): string {
  return inline(text, "html");
}

/** Inline Markdown → plain text: markers dropped, code kept verbatim, links as `label (url)`. */
export function inlineToPlain(text: string): string {
  return inline(text, "plain");
}

function inline(text: string, mode: "html" | "plain"): string {
  const html = mode === "html";
  // Code spans and links are cut out first so emphasis markers inside them stay literal.
  const slots: string[] = [];
  const keep = (out: string): string => `\u0000${slots.push(out) - 1}\u0000`;
  let s = text.replace(CODE_SPAN, (_m, _ticks: string, code: string) => {
    const inner = code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code;
    return keep(html ? `<code>${escapeHtml(inner)}</code>` : inner);
  });
  s = s.replace(LINK, (m, label: string, url: string) => {
    if (!SAFE_LINK.test(url)) return m;
    if (html) return keep(`<a href="${escapeHtml(url)}">${emphasis(escapeHtml(label), mode)}</a>`);
    return keep(label === url ? url : `${emphasis(label, mode)} (${url})`);
  });
  if (html) {
    s = s.replace(
      BARE_URL,
      (_m, lead: string, url: string) => lead + keep(`<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`),
    );
  }
  s = emphasis(html ? escapeHtml(s) : s, mode);
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => slots[Number(i)] ?? "");
}

interface ListItem {
  ordered: boolean;
  start: number;
  indent: number;
  text: string;
}

/** Markdown → Matrix HTML. Blocks: fences, headings, quotes, lists, rules, paragraphs (single newlines → `<br>`). */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let paragraph: string[] = [];
  const flushParagraph = (): void => {
    if (paragraph.length) out.push(`<p>${paragraph.map(inlineToHtml).join("<br>")}</p>`);
    paragraph = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const fence = FENCE.exec(line);
    if (fence) {
      flushParagraph();
      const marker = fence[1] ?? "```";
      const code: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] ?? "").trimStart().startsWith(marker))
        code.push(lines[i++] ?? "");
      const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : "";
      out.push(`<pre><code${lang}>${escapeHtml(code.join("\n"))}\n</code></pre>`);
      continue;
    }
    if (!line.trim()) {
      flushParagraph();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flushParagraph();
      const level = heading[1]?.length ?? 1;
      out.push(`<h${level}>${inlineToHtml(heading[2] ?? "")}</h${level}>`);
      continue;
    }
    if (RULE.test(line)) {
      flushParagraph();
      out.push("<hr>");
      continue;
    }
    if (QUOTE.test(line)) {
      flushParagraph();
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i] ?? ""))
        quoted.push(QUOTE.exec(lines[i++] ?? "")?.[1] ?? "");
      i--;
      out.push(`<blockquote>${markdownToHtml(quoted.join("\n"))}</blockquote>`);
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      flushParagraph();
      const items: ListItem[] = [];
      while (i < lines.length) {
        const item = listItem(lines[i] ?? "");
        if (item) items.push(item);
        else if ((lines[i] ?? "").trim() && items.length && /^\s+/.test(lines[i] ?? "")) {
          // An indented continuation line belongs to the previous item.
          const last = items[items.length - 1]!;
          last.text += `\n${(lines[i] ?? "").trim()}`;
        } else break;
        i++;
      }
      i--;
      for (let next = 0; next < items.length; ) {
        const list = renderList(items, next);
        out.push(list.html);
        next = list.next;
      }
      continue;
    }
    paragraph.push(line);
  }
  flushParagraph();
  return out.join("");
}

function listItem(line: string): ListItem | undefined {
  const ordered = ORDERED.exec(line);
  if (ordered)
    return {
      ordered: true,
      start: Number(ordered[2]),
      indent: ordered[1]?.length ?? 0,
      text: ordered[3] ?? "",
    };
  const bullet = BULLET.exec(line);
  if (bullet && !RULE.test(line))
    return { ordered: false, start: 1, indent: bullet[1]?.length ?? 0, text: bullet[2] ?? "" };
  return undefined;
}

/**
 * Render one list from `from`: items at the first item's indent and type; deeper items nest inside the
 * previous item. Stops at a shallower item or a change of list type (the caller starts a new list there).
 */
function renderList(items: ListItem[], from: number): { html: string; next: number } {
  const first = items[from]!;
  const tag = first.ordered ? "ol" : "ul";
  const start = first.ordered && first.start !== 1 ? ` start="${first.start}"` : "";
  let html = `<${tag}${start}>`;
  let i = from;
  while (i < items.length) {
    const item = items[i]!;
    if (item.indent < first.indent) break;
    if (item.indent > first.indent) {
      const nested = renderList(items, i);
      html = html.replace(/<\/li>$/, `${nested.html}</li>`);
      i = nested.next;
      continue;
    }
    if (item.ordered !== first.ordered) break;
    html += `<li>${item.text.split("\n").map(inlineToHtml).join("<br>")}</li>`;
    i++;
  }
  return { html: `${html}</${tag}>`, next: i };
}

/**
 * Markdown → the plain-text `body` Matrix shows in notifications, replies and clients without HTML:
 * the same lines, with emphasis markers, code fences and heading marks removed.
 */
export function markdownToPlain(markdown: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    const open = FENCE.exec(line);
    if (fence !== undefined) {
      if (line.trimStart().startsWith(fence)) fence = undefined;
      else out.push(line);
    } else if (open) {
      fence = open[1] ?? "```";
    } else {
      const heading = HEADING.exec(line);
      out.push(inlineToPlain(heading ? (heading[2] ?? "") : line));
    }
  }
  return out.join("\n");
}

/**
 * The `body`/`formatted_body` pair for a Markdown text: `formattedBody` only when the Markdown
 * carries formatting, and then `body` is its plain-text rendering.
 */
export function formatMarkdown(markdown: string): { body: string; formattedBody?: string } {
  const html = markdownToHtml(markdown);
  const plain = `<p>${escapeHtml(markdown.trim()).replace(/\n/g, "<br>")}</p>`;
  if (html === plain || html === "") return { body: markdown };
  // A lone paragraph needs no wrapper; clients render it the same and the event stays smaller.
  const single = /^<p>((?:(?!<p>)[\s\S])*)<\/p>$/.exec(html);
  return { body: markdownToPlain(markdown), formattedBody: single ? (single[1] ?? html) : html };
}
