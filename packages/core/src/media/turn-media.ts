import type { OutboundMedia, SentMessage } from "../platform.ts";
import type { TurnMedia } from "../runner.ts";
import { formatBytes, MediaError } from "./errors.ts";

export interface TurnMediaOptions {
  /** The largest upload the chat's platform account takes (`capabilities.mediaOut.maxBytes`). */
  maxBytes: number;
  /** Upload one file into the turn's chat (the gateway's retried, breaker-guarded `adapter.sendMedia`). */
  deliver: (file: OutboundMedia) => Promise<SentMessage>;
}

/** A turn's way to its chat for files, plus what it attached for after the reply. */
export interface TurnMediaHandle extends TurnMedia {
  /** Upload what `attach` collected, in order; failures are reported, not thrown. */
  flush(onError?: (file: OutboundMedia, error: unknown) => void): Promise<void>;
  /** Files attached and not yet flushed. */
  readonly pending: readonly OutboundMedia[];
}

/**
 * The media service of one chat turn: `send` uploads now (the `send_file` tool), `attach` keeps a file for
 * after the reply text (images the reply links to). Only the turn's own chat is reachable: the address is
 * bound here, never chosen by the model.
 */
export function createTurnMedia(options: TurnMediaOptions): TurnMediaHandle {
  const pending: OutboundMedia[] = [];
  const check = (file: OutboundMedia) => {
    if (file.data.byteLength > options.maxBytes) {
      throw new MediaError(
        "media_too_large",
        `${file.name} is ${formatBytes(file.data.byteLength)}; this chat takes files up to ${formatBytes(options.maxBytes)}`,
      );
    }
  };
  return {
    maxBytes: options.maxBytes,
    pending,
    async send(file) {
      check(file);
      return options.deliver(file);
    },
    attach(file) {
      check(file);
      pending.push(file);
    },
    async flush(onError) {
      for (const file of pending.splice(0)) {
        try {
          await options.deliver(file);
        } catch (err) {
          onError?.(file, err);
        }
      }
    },
  };
}
