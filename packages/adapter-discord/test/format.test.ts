import { describe, expect, it } from "vitest";
import { markdownToDiscord, neutralizeMassMentions, renderContent } from "../src/format.ts";
import { stripBotMention } from "../src/normalize.ts";

describe("Discord formatting", () => {
  it("passes Discord-compatible Markdown through unchanged", () => {
    const md =
      "**bold** _it_ `code` [link](https://x.dev)\n# Title\n- item\n> quote\n```ts\nconst a = 1;\n```";
    expect(markdownToDiscord(md)).toBe(md);
  });

  it("turns a table into an aligned code block, since Discord renders no tables", () => {
    const md = "Scores:\n| name | pts |\n|---|--:|\n| alice | 10 |\n| bob | 7 |\nend";
    expect(markdownToDiscord(md)).toBe(
      ["Scores:", "```", "name  | pts", "------|----", "alice | 10", "bob   | 7", "```", "end"].join("\n"),
    );
  });

  it("makes headings deeper than ### bold, which Discord does not render as headings", () => {
    expect(markdownToDiscord("#### Details ####\ntext")).toBe("**Details**\ntext");
  });

  it("neutralizes @everyone and @here outside code and leaves code blocks alone", () => {
    const md = "ping @everyone\n```\n@here | a |\n|---|\n#### x\n```\n@here";
    expect(markdownToDiscord(md)).toBe(
      "ping @\u200beveryone\n```\n@here | a |\n|---|\n#### x\n```\n@\u200bhere",
    );
    expect(neutralizeMassMentions("mail me@here.com")).toBe(
      "mail me@here.com".replace("@here", "@\u200bhere"),
    );
  });

  it("sends plain text as given apart from mass mentions", () => {
    expect(renderContent({ text: "| a |\n|---|\n@here", format: "plain" })).toBe("| a |\n|---|\n@\u200bhere");
  });

  it("never turns a chunk that fits into one that does not", () => {
    const table = "|a|bbbbbbbbbb|\n|--|--|\n|cccccccccc|d|\n";
    const text = table + "x".repeat(2000 - table.length);
    expect(markdownToDiscord(text).length).toBeGreaterThan(2000);
    expect(renderContent({ text })).toBe(text);
  });
});

describe("bot mention stripping", () => {
  it("drops a leading mention with its punctuation, and a trailing one", () => {
    expect(stripBotMention("<@42>, summarize this", "42", "bot")).toBe("summarize this");
    expect(stripBotMention("thanks <@!42>", "42", "bot")).toBe("thanks");
    expect(stripBotMention("<@42> <@42> twice", "42", "bot")).toBe("twice");
  });

  it("keeps other mentions and names the bot inside a sentence", () => {
    expect(stripBotMention("tell <@7> that <@42> said hi", "42", "Switch")).toBe(
      "tell <@7> that @Switch said hi",
    );
  });

  it("strips the bot's managed role mention", () => {
    expect(stripBotMention("<@&900> status?", "42", "bot", ["900"])).toBe("status?");
  });
});
