import type { OutboundMessage } from "@switchboard/core";
import { AllowedMentionsTypes, type APIAllowedMentions } from "discord.js";
import { MAX_MESSAGE_LENGTH } from "./types.ts";

/**
 * Who a bot message may ping (a fresh object per request). Users only: `@everyone`, `@here` and role pings stay inert even when an agent
 * repeats them. `replied_user` keeps the usual ping of the person a reply answers.
 * @see https://discord.com/developers/docs/resources/message#allowed-mentions-object
 */
export function allowedMentions(): APIAllowedMentions {
  return { parse: [AllowedMentionsTypes.User], replied_user: true };
}

const MASS_MENTION_RE = /@(everyone|here)\b/g;
const FENCE_RE = /^\s*(```|~~~)/;
const TABLE_RULE_RE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
/** Discord renders `#`, `##` and `###` headings only. */
const DEEP_HEADING_RE = /^(\s*)#{4,6}\s+(.+?)\s*#*\s*$/;

/** Break `@everyone` / `@here` with a zero-width space so the text no longer reads as a mass ping. */
export function neutralizeMassMentions(text: string): string {
  return text.replace(MASS_MENTION_RE, "@\u200b$1");
}

/**
 * The agent's Markdown in Discord's dialect. Discord renders most Markdown as is; what it lacks is
 * tables (set as an aligned code block) and headings deeper than `###` (made bold). Code is left untouched.
 */
export function markdownToDiscord(markdown: string): string {
  const lines = markdown.split("\n");
  const out: string[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fenceMatch = FENCE_RE.exec(line);
    if (fence !== undefined) {
      out.push(line);
      if (fenceMatch && fenceMatch[1] === fence) fence = undefined;
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      out.push(line);
      continue;
    }
    const next = lines[i + 1];
    if (line.includes("|") && next !== undefined && TABLE_RULE_RE.test(next) && next.includes("-")) {
      const rows = [line];
      let j = i + 2;
      while (j < lines.length && lines[j]!.includes("|") && lines[j]!.trim() !== "") rows.push(lines[j++]!);
      out.push(...tableToCodeBlock(rows));
      i = j - 1;
      continue;
    }
    const heading = DEEP_HEADING_RE.exec(line);
    out.push(neutralizeMassMentions(heading ? `${heading[1]}**${heading[2]}**` : line));
  }
  return out.join("\n");
}

function tableToCodeBlock(rows: string[]): string[] {
  const cells = rows.map((r) =>
    r
      .trim()
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim()),
  );
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((c, k) => {
      widths[k] = Math.max(widths[k] ?? 0, c.length);
    });
  }
  const render = (row: string[]) =>
    widths
      .map((w, k) => (row[k] ?? "").padEnd(w))
      .join(" | ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("-|-");
  return ["```", render(cells[0] ?? []), rule, ...cells.slice(1).map(render), "```"];
}

/**
 * The message content to send. Markdown is converted, plain text goes as is; both get mass mentions
 * neutralized. When the conversion would push a chunk core sized to the limit over it, the text is sent
 * as it came (the `allowed_mentions` of every send still keeps it from pinging anyone but users).
 */
export function renderContent(message: OutboundMessage, limit = MAX_MESSAGE_LENGTH): string {
  const formatted =
    message.format === "plain" ? neutralizeMassMentions(message.text) : markdownToDiscord(message.text);
  if (formatted.length <= limit) return formatted;
  const neutralized = neutralizeMassMentions(message.text);
  return neutralized.length <= limit ? neutralized : message.text;
}
