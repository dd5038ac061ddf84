import { describe, expect, it } from "vitest";
import { escapeMrkdwn, markdownToMrkdwn } from "../src/format.ts";

describe("Markdown to Slack mrkdwn", () => {
  it.each([
    ["**bold**", "*bold*"],
    ["__bold__", "*bold*"],
    ["*italic* and _italic_", "_italic_ and _italic_"],
    ["***both***", "*_both_*"],
    ["**bold with *italic* inside**", "*bold with _italic_ inside*"],
    ["~~gone~~", "~gone~"],
    ["2 * 3 * 4 and a*b*c", "2 * 3 * 4 and a*b*c"],
    ["snake_case_name stays", "snake_case_name stays"],
  ])("emphasis: %j → %j", (md, expected) => {
    expect(markdownToMrkdwn(md)).toBe(expected);
  });

  it.each([
    ["[the docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|the docs>"],
    ["[**bold** link](https://x.io)", "<https://x.io|*bold* link>"],
    ["[a|b](https://x.io/p|q)", "<https://x.io/p%7Cq|a|b>"],
    ["<https://x.io/raw>", "<https://x.io/raw>"],
    ["see https://x.io/bare", "see https://x.io/bare"],
  ])("links: %j → %j", (md, expected) => {
    expect(markdownToMrkdwn(md)).toBe(expected);
  });

  it("escapes &, < and > everywhere, code included", () => {
    expect(markdownToMrkdwn("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
    expect(markdownToMrkdwn("`x<y>`")).toBe("`x&lt;y&gt;`");
    expect(markdownToMrkdwn("```\nif (a < b && c) {}\n```")).toBe("```\nif (a &lt; b &amp;&amp; c) {}\n```");
    expect(escapeMrkdwn("<!channel> & co")).toBe("&lt;!channel&gt; &amp; co");
  });

  it("leaves emphasis markers inside code alone", () => {
    expect(markdownToMrkdwn("`**not bold**` and **bold**")).toBe("`**not bold**` and *bold*");
    expect(markdownToMrkdwn("```py\nx = a ** 2 * b\n**kw\n```")).toBe("```\nx = a ** 2 * b\n**kw\n```");
  });

  it("drops a fence's language tag and closes a fence left open", () => {
    expect(markdownToMrkdwn("```ts\nconst a = 1;")).toBe("```\nconst a = 1;\n```");
    expect(markdownToMrkdwn("~~~\nx\n~~~\nafter **b**")).toBe("```\nx\n```\nafter *b*");
  });

  it("renders headings as bold lines", () => {
    expect(markdownToMrkdwn("# Title\n## Sub **part** ##\ntext")).toBe("*Title*\n*Sub part*\ntext");
  });

  it("renders bullets as • and keeps numbered lists, nesting and quotes", () => {
    expect(markdownToMrkdwn("- one\n* two\n  + nested **b**\n1. first\n> quoted *it*")).toBe(
      "• one\n• two\n  • nested *b*\n1. first\n> quoted _it_",
    );
  });

  it("turns a horizontal rule into a line", () => {
    expect(markdownToMrkdwn("a\n---\nb\n***")).toBe("a\n──────────\nb\n──────────");
  });

  it("lets user and channel mentions through but never broadcasts", () => {
    expect(markdownToMrkdwn("ping <@U123ABC> in <#C0456|ops>, not <!channel>")).toBe(
      "ping <@U123ABC> in <#C0456|ops>, not &lt;!channel&gt;",
    );
  });
});
