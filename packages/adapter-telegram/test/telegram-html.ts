/**
 * Telegram's HTML parse mode, as the fake Bot API applies it: the supported tags, the four named
 * entities plus numeric ones, tags closed in order, nothing nested inside code. Returns the message
 * text as Telegram stores it (entities removed) or the reason Telegram gives for rejecting it.
 * @see https://core.telegram.org/bots/api#html-style
 */

const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "tg-emoji",
  "code",
  "pre",
  "blockquote",
]);
const TAG = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>/;
const ENTITY = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/;
const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const stack: string[] = [];
  let text = "";
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === "<") {
      const m = TAG.exec(html.slice(i));
      if (!m) return { error: `Unexpected character '<' at byte offset ${byteOffset(html, i)}` };
      const [whole, slash, rawName, attrs] = m;
      const name = rawName!.toLowerCase();
      if (slash) {
        const open = stack.pop();
        if (open !== name)
          return {
            error: `Unmatched end tag at byte offset ${byteOffset(html, i)}, expected "</${open ?? ""}>", found "</${name}>"`,
          };
      } else {
        if (!TAGS.has(name))
          return { error: `Unsupported start tag "${name}" at byte offset ${byteOffset(html, i)}` };
        const top = stack[stack.length - 1];
        // Only `<code>` may sit inside `<pre>`; nothing may sit inside `<code>`.
        if (top === "code" || (top === "pre" && name !== "code")) {
          return {
            error: `Can't nest entity "${name}" inside "${top}" at byte offset ${byteOffset(html, i)}`,
          };
        }
        if (name === "span" && !/class\s*=\s*["']?tg-spoiler/.test(attrs ?? "")) {
          return { error: `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(html, i)}` };
        }
        if (name === "a" && !/href\s*=/.test(attrs ?? ""))
          return { error: `Tag "a" must have an href at byte offset ${byteOffset(html, i)}` };
        stack.push(name);
      }
      i += whole.length;
      continue;
    }
    if (c === "&") {
      const m = ENTITY.exec(html.slice(i));
      if (!m) return { error: `Unsupported HTML entity at byte offset ${byteOffset(html, i)}` };
      const name = m[1]!;
      text +=
        NAMED[name] ??
        String.fromCodePoint(
          name.startsWith("#x") ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1)),
        );
      i += m[0].length;
      continue;
    }
    text += c;
    i++;
  }
  const open = stack.pop();
  if (open) return { error: `Can't find end tag corresponding to start tag "${open}"` };
  return { text };
}

function byteOffset(s: string, index: number): number {
  return Buffer.byteLength(s.slice(0, index));
}
