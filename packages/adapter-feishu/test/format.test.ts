import { describe, expect, it } from "vitest";
import {
  isRich,
  markdownToPlain,
  markdownToPost,
  outboundContent,
  parsePost,
  postToText,
} from "../src/format.ts";

describe("Feishu formatting", () => {
  it("turns Markdown into post elements: styles, links, code blocks, headings, rules", () => {
    const post = markdownToPost(
      [
        "# Title",
        "Some **bold** and *it* and ~~old~~ `code` [docs](https://x.test/d).",
        "",
        "---",
        "```py",
        "print('**x**')",
        "```",
        "- item",
      ].join("\n"),
    );
    expect(post.content).toEqual([
      [{ tag: "text", text: "Title", style: ["bold"] }],
      [
        { tag: "text", text: "Some " },
        { tag: "text", text: "bold", style: ["bold"] },
        { tag: "text", text: " and " },
        { tag: "text", text: "it", style: ["italic"] },
        { tag: "text", text: " and " },
        { tag: "text", text: "old", style: ["lineThrough"] },
        { tag: "text", text: " code " },
        { tag: "a", text: "docs", href: "https://x.test/d" },
        { tag: "text", text: "." },
      ],
      [{ tag: "text", text: "" }],
      [{ tag: "hr" }],
      [{ tag: "code_block", language: "PY", text: "print('**x**')" }],
      [{ tag: "text", text: "• item" }],
    ]);
  });

  it("nests styles and leaves snake_case and lone asterisks alone", () => {
    expect(markdownToPost("**bold _both_**").content[0]).toEqual([
      { tag: "text", text: "bold ", style: ["bold"] },
      { tag: "text", text: "both", style: ["bold", "italic"] },
    ]);
    expect(markdownToPost("snake_case_name and 2 * 3 * 4").content[0]).toEqual([
      { tag: "text", text: "snake_case_name and 2 * 3 * 4" },
    ]);
  });

  it("sends plain content as text and Markdown with formatting as post", () => {
    expect(outboundContent("**hi**", "plain")).toEqual({
      msgType: "text",
      content: JSON.stringify({ text: "**hi**" }),
    });
    expect(outboundContent("just words", "markdown")).toEqual({
      msgType: "text",
      content: JSON.stringify({ text: "just words" }),
    });
    const rich = outboundContent("**hi** there", "markdown");
    expect(rich.msgType).toBe("post");
    expect(JSON.parse(rich.content)).toEqual({
      zh_cn: {
        content: [
          [
            { tag: "text", text: "hi", style: ["bold"] },
            { tag: "text", text: " there" },
          ],
        ],
      },
    });
    expect(isRich(markdownToPost("plain"))).toBe(false);
  });

  it("flattens Markdown to plain text keeping link targets, for the fallback", () => {
    expect(markdownToPlain("**Done**: see [docs](https://x.test)\n\n```\ncode\n```")).toBe(
      "Done: see docs (https://x.test)\n\ncode",
    );
  });

  it("reads received posts with or without a locale wrapper", () => {
    const inner = {
      title: "T",
      content: [
        [
          { tag: "text", text: "a" },
          { tag: "a", text: "l", href: "https://h" },
        ],
      ],
    };
    expect(postToText(parsePost(inner)!)).toBe("T\nal");
    expect(postToText(parsePost({ en_us: inner })!, { linkUrls: true })).toBe("T\nal (https://h)");
    expect(parsePost({ nothing: 1 })).toBeUndefined();
  });
});
