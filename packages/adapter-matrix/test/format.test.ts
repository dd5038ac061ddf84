import { describe, expect, it } from "vitest";
import { formatMarkdown, markdownToHtml, markdownToPlain } from "../src/format.ts";

describe("markdownToHtml", () => {
  it("renders bold, italic, strikethrough and inline code", () => {
    expect(markdownToHtml("**bold**, *italic*, _also_, __strong__ and ~~gone~~ with `a*b*c`")).toBe(
      "<p><strong>bold</strong>, <em>italic</em>, <em>also</em>, <strong>strong</strong> and <del>gone</del> with <code>a*b*c</code></p>",
    );
  });

  it("escapes HTML in text, code and link labels", () => {
    expect(markdownToHtml('<script>alert("x")</script> & `<b>`')).toBe(
      "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <code>&lt;b&gt;</code></p>",
    );
  });

  it("renders fenced code blocks verbatim with their language", () => {
    expect(markdownToHtml("Run:\n```ts\nconst a = **b** < 3;\n```\ndone")).toBe(
      '<p>Run:</p><pre><code class="language-ts">const a = **b** &lt; 3;\n</code></pre><p>done</p>',
    );
  });

  it("renders links with safe schemes only", () => {
    expect(markdownToHtml("[docs](https://example.org/a?b=1&c=2) and [bad](javascript:alert(1))")).toBe(
      '<p><a href="https://example.org/a?b=1&amp;c=2">docs</a> and [bad](javascript:alert(1))</p>',
    );
    expect(markdownToHtml("see https://example.org/x.")).toBe(
      '<p>see <a href="https://example.org/x">https://example.org/x</a>.</p>',
    );
  });

  it("renders bullet, ordered and nested lists", () => {
    expect(markdownToHtml("- one\n- **two**\n  - nested\n- three")).toBe(
      "<ul><li>one</li><li><strong>two</strong><ul><li>nested</li></ul></li><li>three</li></ul>",
    );
    expect(markdownToHtml("3. c\n4. d")).toBe('<ol start="3"><li>c</li><li>d</li></ol>');
  });

  it("renders headings, quotes, rules and line breaks", () => {
    expect(markdownToHtml("# Title\n> quoted *text*\n\nline one\nline two\n\n---")).toBe(
      "<h1>Title</h1><blockquote><p>quoted <em>text</em></p></blockquote><p>line one<br>line two</p><hr>",
    );
  });

  it("leaves snake_case words and lone asterisks alone", () => {
    expect(markdownToHtml("call my_func_name with 2 * 3")).toBe("<p>call my_func_name with 2 * 3</p>");
  });
});

describe("markdownToPlain", () => {
  it("drops emphasis markers, fences and heading marks but keeps code, lists and link targets", () => {
    expect(
      markdownToPlain(
        "# Plan\n**Step** one: run `make *all*`\n- see [docs](https://x.org)\n```sh\nls **/*.ts\n```",
      ),
    ).toBe("Plan\nStep one: run make *all*\n- see docs (https://x.org)\nls **/*.ts");
  });
});

describe("formatMarkdown", () => {
  it("adds HTML only when there is formatting, with a plain-text body", () => {
    expect(formatMarkdown("just words\nover two lines")).toEqual({ body: "just words\nover two lines" });
    expect(formatMarkdown("**hi** there")).toEqual({
      body: "hi there",
      formattedBody: "<strong>hi</strong> there",
    });
    expect(formatMarkdown("a < b")).toEqual({ body: "a < b" });
  });
});
