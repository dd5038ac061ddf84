import { describe, expect, it } from "vitest";
import { markdownToPlainText, markdownToTelegramHtml } from "../src/format.ts";
import { parseTelegramHtml } from "./telegram-html.ts";

describe("Markdown to Telegram HTML", () => {
  it.each([
    ["bold", "say **hi** there", "say <b>hi</b> there"],
    ["bold with underscores", "__strong__ words", "<b>strong</b> words"],
    ["italic with stars", "an *emphasised* word", "an <i>emphasised</i> word"],
    ["italic with underscores", "an _emphasised_ word", "an <i>emphasised</i> word"],
    ["snake_case stays literal", "call my_func_name now", "call my_func_name now"],
    ["strikethrough", "~~gone~~", "<s>gone</s>"],
    [
      "inline code, escaped and unformatted",
      "run `a < b && **c**`",
      "run <code>a &lt; b &amp;&amp; **c**</code>",
    ],
    ["escapes < > &", "1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"],
    [
      "link",
      "see [the docs](https://example.com/a?b=1&c=2)",
      'see <a href="https://example.com/a?b=1&amp;c=2">the docs</a>',
    ],
    [
      "link with parentheses in the URL",
      "[wiki](https://en.wikipedia.org/wiki/Foo_(bar))",
      '<a href="https://en.wikipedia.org/wiki/Foo_(bar)">wiki</a>',
    ],
    ["formatted link text", "[**bold** link](https://x.io)", '<a href="https://x.io"><b>bold</b> link</a>'],
    ["unsafe link scheme stays text", "[x](javascript:alert(1))", "[x](javascript:alert(1))"],
    ["autolink", "<https://example.com>", '<a href="https://example.com">https://example.com</a>'],
    ["heading becomes bold", "## Title *here*", "<b>Title <i>here</i></b>"],
    ["bullet list", "- one\n- **two**\n  * nested", "• one\n• <b>two</b>\n  • nested"],
    ["ordered list", "1. first\n2. second", "1. first\n2. second"],
    ["blockquote", "> quoted\n> lines", "<blockquote>quoted\nlines</blockquote>"],
    ["backslash escapes", "not \\*italic\\*", "not *italic*"],
    ["unclosed emphasis stays literal", "2 * 3 and **open", "2 * 3 and **open"],
    ["spoiler", "||secret||", "<tg-spoiler>secret</tg-spoiler>"],
    ["bold across lines of a paragraph", "**one\ntwo**", "<b>one\ntwo</b>"],
  ])("converts %s", (_name, markdown, html) => {
    expect(markdownToTelegramHtml(markdown)).toBe(html);
  });

  it("renders a fenced block with its language as pre > code.language-x, escaped", () => {
    const md = "Before\n```ts\nconst a = b < c && d;\n**not bold**\n```\nAfter";
    expect(markdownToTelegramHtml(md)).toBe(
      'Before\n<pre><code class="language-ts">const a = b &lt; c &amp;&amp; d;\n**not bold**</code></pre>\nAfter',
    );
  });

  it("renders a fenced block without language as a bare pre, and an unclosed fence to the end", () => {
    expect(markdownToTelegramHtml("```\nx <y>\n```")).toBe("<pre>x &lt;y&gt;</pre>");
    expect(markdownToTelegramHtml("text\n```py\nprint(1)")).toBe(
      'text\n<pre><code class="language-py">print(1)</code></pre>',
    );
  });

  it("always produces HTML that Telegram's parser accepts, never longer in visible text than the Markdown", () => {
    const samples = [
      "**a *b* c** _d_ `e` [f](https://g.h) ~~i~~",
      "***both*** and **unclosed *mixed",
      "<b>raw html</b> & <script>alert(1)</script>",
      "a_b_c __init__ file_name.py *x",
      "- [ ] task\n- [x] done\n> **quote** `code`",
      "```js\n</pre><b>\n```\n`a` `` b`c ``",
      "emoji 👍🏽 and 𝕏 **bold 🎉**",
      "# h1\n###### h6\n---\n***\n1) one",
      "[a [nested] link](https://x.y/z) [broken](not a url) [empty]()",
      "||spoiler **bold**|| ~~strike `code`~~",
    ];
    for (const md of samples) {
      const html = markdownToTelegramHtml(md);
      const parsed = parseTelegramHtml(html);
      expect(parsed, `${md} → ${html}`).not.toHaveProperty("error");
      if ("text" in parsed) expect(parsed.text.length).toBeLessThanOrEqual(md.length);
    }
  });
});

describe("Markdown to plain text", () => {
  it("keeps the words and drops the markup", () => {
    const md =
      "# Title\n**bold** and _it_ with `code` and [link](https://x.io)\n- item\n```ts\nconst a = 1;\n```";
    expect(markdownToPlainText(md)).toBe(
      "Title\nbold and it with code and link (https://x.io)\n• item\nconst a = 1;",
    );
  });

  it("does not escape HTML characters", () => {
    expect(markdownToPlainText("a < b & **c**")).toBe("a < b & c");
  });
});
