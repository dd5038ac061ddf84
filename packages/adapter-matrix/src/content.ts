import type { Address, OutboundMessage } from "@switchboard/core";
import { formatMarkdown } from "./format.ts";
import { HTML_FORMAT, type MessageContent } from "./types.ts";

/**
 * Homeservers reject events over 65,536 bytes (the whole PDU, signatures included). Past this
 * budget for the content, `formatted_body` is dropped: the plain body alone always fits because
 * core splits text at `maxMessageLength`.
 */
const CONTENT_BYTE_BUDGET = 56_000;

/** `body` plus, for Markdown with formatting, `format` and `formatted_body`. */
export function textContent(message: OutboundMessage, msgtype = "m.text"): MessageContent {
  if (message.format === "plain") return { msgtype, body: message.text };
  const { body, formattedBody } = formatMarkdown(message.text);
  const content: MessageContent = { msgtype, body };
  if (formattedBody !== undefined) {
    content.format = HTML_FORMAT;
    content.formatted_body = formattedBody;
  }
  if (content.formatted_body && byteLength(content) > CONTENT_BYTE_BUDGET) return { msgtype, body };
  return content;
}

/**
 * A reply's content: in a thread, an `m.thread` relation with the reply fallback that thread-unaware
 * clients show (`is_falling_back` + `m.in_reply_to` the message answered, or the root).
 * @see https://spec.matrix.org/v1.12/client-server-api/#threading
 */
export function replyContent(address: Address, message: OutboundMessage): MessageContent {
  const content = textContent(message);
  if (address.threadId) {
    content["m.relates_to"] = {
      rel_type: "m.thread",
      event_id: address.threadId,
      is_falling_back: true,
      "m.in_reply_to": { event_id: address.replyToMessageId ?? address.threadId },
    };
  }
  return content;
}

/**
 * An edit (`m.replace`): the new content in `m.new_content`, and a `* `-prefixed fallback body for
 * clients that do not apply edits.
 * @see https://spec.matrix.org/v1.12/client-server-api/#event-replacements
 */
export function editContent(messageId: string, message: OutboundMessage): MessageContent {
  const content = editOf(messageId, textContent(message));
  // The edit carries the text twice; over budget, both copies go plain.
  if (content.formatted_body && byteLength(content) > CONTENT_BYTE_BUDGET) {
    return editOf(messageId, { msgtype: "m.text", body: message.text });
  }
  return content;
}

function editOf(messageId: string, next: MessageContent): MessageContent {
  const content: MessageContent = { msgtype: next.msgtype, body: `* ${next.body ?? ""}` };
  if (next.formatted_body !== undefined) {
    content.format = next.format;
    content.formatted_body = `* ${next.formatted_body}`;
  }
  content["m.new_content"] = next;
  content["m.relates_to"] = { rel_type: "m.replace", event_id: messageId };
  return content;
}

function byteLength(content: MessageContent): number {
  return Buffer.byteLength(JSON.stringify(content), "utf8");
}

/** The same content without `format`/`formatted_body` (also in `m.new_content`), or `undefined` if it had none. */
export function withoutFormatting(content: MessageContent): MessageContent | undefined {
  if (content.formatted_body === undefined && content["m.new_content"]?.formatted_body === undefined)
    return undefined;
  const strip = ({ format: _f, formatted_body: _b, ...rest }: MessageContent): MessageContent => rest;
  const plain = strip(content);
  if (content["m.new_content"]) plain["m.new_content"] = strip(content["m.new_content"]);
  return plain;
}
