import { describe, expect, it } from "vitest";
import { byteLength, markdownToPlain, splitUtf8 } from "../src/format.ts";

describe("WeCom formatting", () => {
  it("flattens Markdown to plain text", () => {
    const md = [
      "# Title",
      "Some **bold**, *italic*, _under_, ~~gone~~ and `a*b*c` text.",
      "See [the docs](https://example.com/x) or <https://example.com/y>.",
      "> quoted",
      "* item",
      "```ts",
      "const x = **not bold**;",
      "```",
    ].join("\n");
    expect(markdownToPlain(md)).toBe(
      [
        "Title",
        "Some bold, italic, under, gone and a*b*c text.",
        "See the docs (https://example.com/x) or https://example.com/y.",
        "quoted",
        "- item",
        "const x = **not bold**;",
      ].join("\n"),
    );
  });

  it("leaves snake_case words and lone asterisks alone", () => {
    expect(markdownToPlain("use snake_case_name and 2 * 3 * 4")).toBe("use snake_case_name and 2 * 3 * 4");
  });

  it("splits at the byte limit without cutting a character, preferring line breaks", () => {
    const text = `${"你".repeat(500)}\n${"好".repeat(500)}`; // 3,001 bytes
    const pieces = splitUtf8(text, 2048);
    expect(pieces).toEqual(["你".repeat(500), "好".repeat(500)]);
    const dense = "😀".repeat(1000); // 4 bytes each, no spaces
    const parts = splitUtf8(dense, 2048);
    for (const p of parts) expect(byteLength(p)).toBeLessThanOrEqual(2048);
    expect(parts.join("")).toBe(dense);
    expect(splitUtf8("short", 2048)).toEqual(["short"]);
  });
});
