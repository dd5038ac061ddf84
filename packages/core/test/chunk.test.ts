import { describe, expect, it } from "vitest";
import { splitMessage } from "../src/gateway/chunk.ts";

function fenceLines(chunk: string): string[] {
  return chunk.split("\n").filter((l) => /^ {0,3}(```|~~~)/.test(l));
}

function tenThousandCharReply(): string {
  const blocks: string[] = [];
  let i = 0;
  while (blocks.join("\n\n").length < 9_000) {
    if (i % 3 === 1) {
      blocks.push(
        [
          "```python",
          ...Array.from({ length: 40 }, (_, k) => `print("line ${i}.${k}")  # a comment`),
          "```",
        ].join("\n"),
      );
    } else {
      blocks.push(`Paragraph ${i}. ${"Sentences end here. ".repeat(12).trim()}`);
    }
    i++;
  }
  const body = blocks.join("\n\n");
  // Pad with a closing paragraph so the reply is exactly 10,000 characters and its fences balanced.
  return `${body}\n\n${"Closing words. ".repeat(200)}`.slice(0, 10_000);
}

describe("splitMessage", () => {
  it("returns short text as one chunk", () => {
    expect(splitMessage("hello", 4096)).toEqual(["hello"]);
  });

  it("splits a 10,000-character reply with code fences into valid chunks under 4,096", () => {
    const text = tenThousandCharReply();
    const chunks = splitMessage(text, 4096);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(4096);
      expect(fenceLines(c).length % 2).toBe(0);
    }
    // Nothing is lost: every code line and every paragraph survives in order.
    const joined = chunks.join("\n");
    for (const line of text.split("\n")) if (line.trim()) expect(joined).toContain(line.trim().slice(0, 30));
  });

  it("reopens a split code fence with its language", () => {
    const code = ["```ts", ...Array.from({ length: 200 }, (_, k) => `const v${k} = ${k};`), "```"].join("\n");
    const chunks = splitMessage(code, 1000);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.startsWith("```ts")).toBe(true);
      expect(c.trimEnd().endsWith("```")).toBe(true);
      expect(c.length).toBeLessThanOrEqual(1000);
    }
  });

  it("prefers paragraph boundaries over cutting mid-sentence", () => {
    const para = "A sentence that is fairly long. ".repeat(10).trim();
    const text = [para, para, para].join("\n\n");
    const chunks = splitMessage(text, para.length + 10);
    expect(chunks).toEqual([para, para, para]);
  });

  it("counts bytes for byte-limited platforms and never splits a character", () => {
    const text = "你好，世界。".repeat(400);
    const chunks = splitMessage(text, 2048, "bytes");
    for (const c of chunks) {
      expect(Buffer.byteLength(c)).toBeLessThanOrEqual(2048);
      expect(c).not.toContain("\uFFFD");
    }
    expect(chunks.join("")).toBe(text);
  });

  it("does not split a surrogate pair", () => {
    const text = "😀".repeat(3000);
    const chunks = splitMessage(text, 4096);
    expect(chunks.join("")).toBe(text);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(4096);
  });
});
