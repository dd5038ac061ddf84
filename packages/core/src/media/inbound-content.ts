import type { InboundMedia, MediaFile } from "../platform.ts";
import type { ChatMessage, ContentPart } from "../runner.ts";
import { toDataUrl } from "./data-url.ts";
import { formatBytes, MediaError } from "./errors.ts";
import { documentText, isTextDocument } from "./text-document.ts";
import type { Transcriber } from "./transcribe.ts";

export interface MediaContentOptions {
  /** The receiving adapter's `downloadMedia`; absent when the account cannot download (`mediaIn` false). */
  download?: (media: InboundMedia, options: { maxBytes: number; signal?: AbortSignal }) => Promise<MediaFile>;
  /** The agent's model reads images (`modelHasVision`). */
  vision: boolean;
  maxBytes: number;
  maxTextChars: number;
  /** Voice notes and audio to text; absent when `transcription:` is off. */
  transcribe?: Transcriber;
  signal?: AbortSignal;
  /** A download or transcription that failed (the model gets a note; the gateway logs the cause). */
  onError?: (media: InboundMedia, error: unknown) => void;
}

/** A message's text and files as the model's input, and as the text the session keeps. */
export interface MediaContent {
  /** The user message's content: parts when an image is among them, else text. */
  content: ChatMessage["content"];
  /** What the transcript stores (images are not kept: their label stands in). */
  storedText: string;
  /** The words of the message's voice notes and audio, when transcription found any. */
  transcript?: string;
}

const label = (m: InboundMedia, fallback: string) => (m.name ? `"${m.name}"` : fallback);
const KIND_WORD: Record<InboundMedia["kind"], string> = {
  image: "an image",
  audio: "an audio file",
  video: "a video",
  file: "a file",
};

/**
 * Turn a message's media into model content (DESIGN §11, issue 14): images as data URLs for a vision
 * model, text documents as text (capped), voice and audio as their transcript (the user's words), other
 * files as a named note. Whatever cannot be read becomes a clear note, so a photo never arrives as an
 * empty message. Files are downloaded one at a time through the adapter, each within `maxBytes`.
 */
export async function mediaContent(
  text: string,
  media: readonly InboundMedia[] | undefined,
  options: MediaContentOptions,
): Promise<MediaContent> {
  if (!media?.length) return { content: text, storedText: text };
  const spoken: string[] = [];
  const texts: string[] = [];
  const images: Array<Extract<ContentPart, { type: "image" }>> = [];
  const stored: string[] = [];
  const note = (s: string) => {
    texts.push(s);
    stored.push(s);
  };
  for (const m of media) {
    const what = m.voice ? "a voice note" : KIND_WORD[m.kind];
    const named = m.name ? `${what} ${label(m, "")}` : what;
    if (m.kind === "image" && !options.vision) {
      note(`[The user sent ${named}, but this model cannot see images: tell them so if they ask about it.]`);
      continue;
    }
    const audio = m.kind === "audio" || m.voice === true;
    if (audio && !options.transcribe) {
      note(`[The user sent ${named}; voice transcription is off, so what it says is unknown.]`);
      continue;
    }
    if (m.kind === "video") {
      note(
        `[The user attached ${named}${m.size ? ` (${formatBytes(m.size)})` : ""}; videos cannot be watched here.]`,
      );
      continue;
    }
    if (!options.download) {
      note(`[The user sent ${named}, which this chat platform's adapter cannot download.]`);
      continue;
    }
    if (m.size !== undefined && m.size > options.maxBytes) {
      note(
        `[The user sent ${named} of ${formatBytes(m.size)}, over the ${formatBytes(options.maxBytes)} limit, so it was not read.]`,
      );
      continue;
    }
    let file: MediaFile;
    try {
      file = await options.download(m, {
        maxBytes: options.maxBytes,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      options.onError?.(m, err);
      const why =
        err instanceof MediaError && err.code === "media_too_large"
          ? `it is over the ${formatBytes(options.maxBytes)} limit`
          : "the download failed";
      note(`[The user sent ${named}, but it could not be read: ${why}.]`);
      continue;
    }
    const name = m.name ?? file.name;
    if (audio) {
      try {
        const words = await options.transcribe!(file, options.signal);
        if (words) spoken.push(words);
        else note(`[The user sent ${named} with no words in it.]`);
      } catch (err) {
        options.onError?.(m, err);
        note(`[The user sent ${named}, but it could not be transcribed.]`);
      }
    } else if (m.kind === "image" || file.mimeType.startsWith("image/")) {
      if (!options.vision || !file.mimeType.startsWith("image/") || file.mimeType === "image/svg+xml") {
        note(
          `[The user attached an image file "${name}" (${file.mimeType}) that cannot be shown to this model.]`,
        );
        continue;
      }
      images.push({ type: "image", url: toDataUrl(file.mimeType, file.data), mimeType: file.mimeType });
      stored.push(`[image: ${name}]`);
    } else if (isTextDocument(file.mimeType, name)) {
      const body = documentText(file, options.maxTextChars);
      if (body === undefined) note(attachmentNote(name, file));
      else {
        texts.push(`[The user attached the document "${name}":]\n${body}`);
        stored.push(`[document: ${name}]`);
      }
    } else {
      note(attachmentNote(name, file));
    }
  }
  // The transcript is what the user said: it leads, then any caption they typed.
  const userText = [...spoken, text].filter((s) => s.trim()).join("\n\n");
  const textBlock = [userText, ...texts].filter((s) => s.trim()).join("\n\n");
  const storedText = [userText, ...stored].filter((s) => s.trim()).join("\n\n");
  const transcript = spoken.length ? { transcript: spoken.join("\n\n") } : {};
  if (images.length === 0) return { content: textBlock, storedText, ...transcript };
  const parts: ContentPart[] = [];
  if (textBlock) parts.push({ type: "text", text: textBlock });
  parts.push(...images);
  return { content: parts, storedText, ...transcript };
}

function attachmentNote(name: string, file: MediaFile): string {
  return `[The user attached the file "${name}" (${file.mimeType}, ${formatBytes(file.data.byteLength)}); its contents cannot be read here.]`;
}
