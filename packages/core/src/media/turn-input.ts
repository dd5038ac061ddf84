import type { AgentProfile } from "../agents.ts";
import type { ParsedConfig } from "../config/schema.ts";
import type { Logger } from "../logger.ts";
import type { InboundMedia, InboundMessage, PlatformAdapter } from "../platform.ts";
import type { ChatMessage, ContentPart } from "../runner.ts";
import { mediaContent } from "./inbound-content.ts";
import { transcriberFor } from "./transcribe.ts";
import { modelHasVision } from "./vision.ts";

export interface TurnInputOptions {
  /** The account the messages came in on: its `downloadMedia`, when it declares `mediaIn`. */
  adapter: PlatformAdapter | undefined;
  profile: AgentProfile;
  config: Pick<ParsedConfig, "media" | "transcription" | "providers">;
  signal?: AbortSignal;
  logger?: Logger;
}

/** A chat turn's user content, and what its voice notes said (kept in the session with the reply). */
export interface TurnInput {
  content: ChatMessage["content"];
  transcripts: string[];
}

/**
 * The user content of one chat turn from the messages that form it: each message's text and files
 * (`mediaContent`), joined in order; parts when any image is among them, else one text.
 */
export async function turnInputContent(
  messages: readonly InboundMessage[],
  options: TurnInputOptions,
): Promise<TurnInput> {
  if (!messages.some((m) => m.media?.length))
    return { content: messages.map((m) => m.text).join("\n\n"), transcripts: [] };
  const adapter = options.adapter;
  const download =
    adapter?.downloadMedia && adapter.capabilities.mediaIn ? adapter.downloadMedia.bind(adapter) : undefined;
  const transcribe = transcriberFor(options.config, options.profile);
  const texts: string[] = [];
  const images: ContentPart[] = [];
  const transcripts: string[] = [];
  for (const m of messages) {
    const { content, transcript } = await mediaContent(m.text, m.media, {
      ...(download ? { download } : {}),
      vision: modelHasVision(options.profile),
      maxBytes: options.config.media.max_bytes,
      maxTextChars: options.config.media.max_text_chars,
      ...(transcribe ? { transcribe } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onError: (media: InboundMedia, err: unknown) =>
        options.logger?.warn(
          { err, kind: media.kind, name: media.name, platform: m.platform, account: m.account },
          "a chat file did not reach the model",
        ),
    });
    if (transcript) transcripts.push(transcript);
    if (typeof content === "string") texts.push(content);
    else
      for (const p of content) {
        if (p.type === "text") texts.push(p.text);
        else images.push(p);
      }
  }
  const text = texts.filter((t) => t.trim()).join("\n\n");
  if (images.length === 0) return { content: text, transcripts };
  return { content: [...(text ? [{ type: "text" as const, text }] : []), ...images], transcripts };
}

const LABEL: Record<InboundMedia["kind"], string> = {
  image: "image",
  audio: "audio",
  video: "video",
  file: "file",
};

/**
 * What the session keeps of a message when it arrives: its text and a label per file (`[image: cat.png]`,
 * `[voice note]`), so the history says what was sent without holding the files.
 */
export function storedMessageText(inbound: Pick<InboundMessage, "text" | "media">): string {
  if (!inbound.media?.length) return inbound.text;
  const labels = inbound.media.map((m) =>
    m.voice ? "[voice note]" : m.name ? `[${LABEL[m.kind]}: ${m.name}]` : `[${LABEL[m.kind]}]`,
  );
  return [inbound.text, ...labels].filter((s) => s.trim()).join("\n");
}
