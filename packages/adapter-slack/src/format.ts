/**
 * Markdown (what agents write) → Slack mrkdwn. Slack has no headings, tables or nested
 * emphasis; `*` is bold and `_` italic; links are `<url|text>`; and `&`, `<`, `>` must be escaped
 * everywhere, code included, because Slack reads `<…>` as a control sequence.
 * @see https://docs.slack.dev/messaging/formatting-message-text
 */

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

/** Slack mentions an agent may pass through on purpose: users (`<@U…>`) and channels (`<#C…>`). */
const SLACK_REFERENCE = /<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>|]*)?)>/g;
const INLINE_CODE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;
const LINK = /\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const AUTOLINK = /<((?:https?|mailto):[^<>\s]+)>/g;

/** Escape the three characters Slack treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Convert Markdown to Slack mrkdwn. */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker === fence && line.trim() === marker) {
        out.push("```");
        fence = undefined;
      } else {
        out.push(escapeMrkdwn(line));
      }
      continue;
    }
    if (marker !== undefined) {
      // Slack would show the info string (```ts) as the first line of code: drop it.
      fence = marker;
      out.push("```");
      continue;
    }
    out.push(convertLine(line));
  }
  if (fence !== undefined) out.push("```");
  return out.join("\n");
}

function convertLine(line: string): string {
  if (RULE.test(line)) return "──────────";
  const heading = HEADING.exec(line);
  if (heading) {
    // The heading is bold already; bold inside it would close it early.
    const text = convertInline((heading[1] ?? "").replace(/\*\*|__/g, ""));
    return text ? `*${text}*` : "";
  }
  const quote = QUOTE.exec(line);
  if (quote) return `>${quote[1] ? ` ${convertLine(quote[1])}` : ""}`;
  const bullet = BULLET.exec(line);
  if (bullet) return `${bullet[1]}• ${convertInline(bullet[2] ?? "")}`;
  return convertInline(line);
}

/** Inline spans: code and links are set aside first so emphasis rules never reach inside them. */
function convertInline(text: string): string {
  const kept: string[] = [];
  const keep = (s: string): string => `\uE000${kept.push(s) - 1}\uE001`;

  let s = text.replace(INLINE_CODE, (_m, _ticks: string, code: string) => keep(`\`${escapeMrkdwn(code)}\``));
  s = s.replace(LINK, (_m, label: string, url: string) =>
    keep(`<${linkUrl(url)}|${emphasis(escapeMrkdwn(label))}>`),
  );
  s = s.replace(AUTOLINK, (_m, url: string) => keep(`<${linkUrl(url)}>`));
  s = s.replace(SLACK_REFERENCE, (m) => keep(m));
  s = emphasis(escapeMrkdwn(s));
  return s.replace(/\uE000(\d+)\uE001/g, (_m, i: string) => kept[Number(i)] ?? "");
}

function emphasis(s: string): string {
  return (
    s
      // Italic first: its rule never matches a star next to another star, so `**bold**` is left
      // whole; bold then becomes a placeholder so nothing else reads its stars.
      .replace(/\*\*\*(?=\S)([^*]*?\S)\*\*\*/g, "\uE002_$1_\uE002")
      .replace(/(^|[^\w*])\*([^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])/g, "$1_$2_")
      .replace(/\*\*(?=\S)(.*?\S)\*\*/g, "\uE002$1\uE002")
      .replace(/(^|[^\w])__(?=\S)(.*?\S)__(?!\w)/g, "$1\uE002$2\uE002")
      .replace(/~~(?=\S)(.*?\S)~~/g, "~$1~")
      .replace(/\uE002/g, "*")
  );
}

/** Slack ends a link's URL at `|` or `>`: percent-encode those, escape the rest like text. */
function linkUrl(url: string): string {
  return escapeMrkdwn(url.replace(/\|/g, "%7C").replace(/>/g, "%3E").replace(/</g, "%3C"));
}
