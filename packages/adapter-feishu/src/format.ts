import type { PostContent, PostElement } from "./types.ts";

/**
 * Markdown → Feishu `post` (rich text): bold/italic/strikethrough as text styles, links as `a` elements,
 * fenced code as `code_block`, headings bold, rules as `hr`. Each Markdown line is one post paragraph.
 * @see https://open.feishu.cn/document/server-docs/im-v1/message-content-description/create_json#45e0953e
 */
export function markdownToPost(markdown: string): PostContent {
  const paragraphs: PostElement[][] = [];
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence) {
      const code: string[] = [];
      for (i++; i < lines.length && !new RegExp(`^\\s*${fence[1]}\\s*$`).test(lines[i]!); i++)
        code.push(lines[i]!);
      paragraphs.push([
        {
          tag: "code_block",
          ...(fence[2] ? { language: fence[2].toUpperCase() } : {}),
          text: code.join("\n"),
        },
      ]);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      paragraphs.push([{ tag: "hr" }]);
      continue;
    }
    const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      paragraphs.push(inlineElements(heading[1]!, ["bold"]));
      continue;
    }
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      paragraphs.push(inlineElements(quote[1]!, ["italic"]));
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
    if (bullet) {
      paragraphs.push(inlineElements(`${bullet[1]}• ${bullet[2]}`, []));
      continue;
    }
    paragraphs.push(inlineElements(line, []));
  }
  // Blank lines between blocks stay single; leading and trailing ones go.
  const out: PostElement[][] = [];
  for (const p of paragraphs) {
    const blank = isBlank(p);
    if (blank && (out.length === 0 || isBlank(out.at(-1)!))) continue;
    out.push(p);
  }
  while (out.length && isBlank(out.at(-1)!)) out.pop();
  return { content: out };
}

function isBlank(p: PostElement[]): boolean {
  return p.every((e) => e.tag === "text" && e.text.trim() === "");
}

/** Code spans, links, autolinks, bold, strikethrough, italic: the first group that matched says which. */
const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|!?\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<((?:https?|mailto):[^>\s]+)>|(\*\*|__)(?=\S)([\s\S]*?\S)\6|~~(?=\S)([\s\S]*?\S)~~|(?<![\w*\\])\*(?=\S)([^*]*?\S)\*(?![\w*])|(?<![\w_\\])_(?=\S)([^_]*?\S)_(?![\w_])/g;

function inlineElements(text: string, style: string[]): PostElement[] {
  const out: PostElement[] = [];
  const push = (t: string, s: string[]) => {
    if (!t) return;
    const last = out.at(-1);
    if (last?.tag === "text" && sameStyle(last.style ?? [], s)) last.text += t;
    else out.push(s.length ? { tag: "text", text: t, style: [...s] } : { tag: "text", text: t });
  };
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    push(unescapeMarkdown(text.slice(at, m.index)), style);
    at = m.index + m[0].length;
    if (m[1] !== undefined) push(m[2]!.replace(/^ (.*) $/, "$1"), style);
    else if (m[3] !== undefined) out.push({ tag: "a", text: plainOf(m[3]), href: m[4]! });
    else if (m[5] !== undefined) out.push({ tag: "a", text: m[5], href: m[5] });
    else if (m[6] !== undefined)
      for (const e of inlineElements(m[7]!, [...style, "bold"])) pushElement(out, e);
    else if (m[8] !== undefined)
      for (const e of inlineElements(m[8], [...style, "lineThrough"])) pushElement(out, e);
    else {
      const inner = m[9] ?? m[10]!;
      for (const e of inlineElements(inner, [...style, "italic"])) pushElement(out, e);
    }
  }
  push(unescapeMarkdown(text.slice(at)), style);
  return out.length ? out : [{ tag: "text", text: "" }];
}

function pushElement(out: PostElement[], e: PostElement): void {
  const last = out.at(-1);
  if (e.tag === "text" && last?.tag === "text" && sameStyle(last.style ?? [], e.style ?? []))
    last.text += e.text;
  else out.push(e);
}

function sameStyle(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!~>|])/g, "$1");
}

/** The text of inline Markdown with its markers removed (for link labels). */
function plainOf(markdown: string): string {
  return inlineElements(markdown, [])
    .map((e) => ("text" in e ? e.text : ""))
    .join("");
}

/** Whether a post carries anything a `text` message cannot: styles, links, code blocks, rules. */
export function isRich(post: PostContent): boolean {
  return post.content.some((p) => p.some((e) => e.tag !== "text" || (e.style?.length ?? 0) > 0));
}

/**
 * The plain text of a post. `linkUrls` writes links as `label (url)`, for sending a post's content as a
 * `text` message without losing where links pointed.
 */
export function postToText(post: PostContent, opts: { linkUrls?: boolean } = {}): string {
  const lines = post.content.map((p) =>
    p
      .map((e) => {
        switch (e.tag) {
          case "text":
          case "md":
          case "code_block":
            return e.text;
          case "a":
            return opts.linkUrls && e.href !== e.text ? `${e.text} (${e.href})` : e.text;
          case "at":
            return `@${e.user_name ?? e.user_id}`;
          case "hr":
            return "---";
          default:
            return "";
        }
      })
      .join(""),
  );
  const body = lines.join("\n");
  return post.title ? `${post.title}\n${body}` : body;
}

/** Markdown as plain text (markers dropped, links kept as `label (url)`): the fallback when a post is refused. */
export function markdownToPlain(markdown: string): string {
  return postToText(markdownToPost(markdown), { linkUrls: true });
}

/** What `msg_type` and `content` to send for a message. */
export function outboundContent(
  text: string,
  format: "markdown" | "plain",
): { msgType: "text" | "post"; content: string } {
  if (format === "markdown") {
    const post = markdownToPost(text);
    if (isRich(post)) return { msgType: "post", content: JSON.stringify({ zh_cn: post }) };
    return { msgType: "text", content: JSON.stringify({ text: postToText(post) }) };
  }
  return { msgType: "text", content: JSON.stringify({ text }) };
}

/**
 * The post of a received `post` message: either `{title, content}` or wrapped in a locale
 * (`{zh_cn: {title, content}}`), depending on where it came from.
 */
export function parsePost(value: unknown): PostContent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.content)) return v as unknown as PostContent;
  for (const inner of Object.values(v)) {
    if (
      typeof inner === "object" &&
      inner !== null &&
      Array.isArray((inner as Record<string, unknown>).content)
    ) {
      return inner as PostContent;
    }
  }
  return undefined;
}
