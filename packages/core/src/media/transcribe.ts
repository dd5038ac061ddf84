import type { AgentProfile } from "../agents.ts";
import { resolveProvider } from "../agents.ts";
import type { ParsedConfig, TranscriptionConfig } from "../config/schema.ts";
import type { MediaFile } from "../platform.ts";
import { secret, secretHint, useAgent } from "../scope.ts";
import { MediaError } from "./errors.ts";

const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** Turns a voice note or an audio file into the words spoken in it. */
export type Transcriber = (file: MediaFile, signal?: AbortSignal) => Promise<string>;

export interface TranscriberOptions {
  /** `.../v1`: `/audio/transcriptions` is appended. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  language?: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** An OpenAI-compatible `POST /audio/transcriptions` (multipart: `file`, `model`), answering `{ text }`. */
export function createTranscriber(options: TranscriberOptions): Transcriber {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/audio/transcriptions`;
  const doFetch = options.fetch ?? fetch;
  return async (file, signal) => {
    const form = new FormData();
    form.append("file", new Blob([file.data as Uint8Array<ArrayBuffer>], { type: file.mimeType }), file.name);
    form.append("model", options.model);
    form.append("response_format", "json");
    if (options.language) form.append("language", options.language);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        body: form,
        headers: {
          ...options.headers,
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (cause) {
      throw new MediaError("media_download_failed", `the transcription service is unreachable`, { cause });
    }
    const body = (await res.json().catch(() => undefined)) as { text?: unknown } | undefined;
    if (!res.ok || typeof body?.text !== "string") {
      throw new MediaError(
        "media_download_failed",
        `the transcription service answered HTTP ${res.status}${res.ok ? " without a text" : ""}`,
      );
    }
    return body.text.trim();
  };
}

/**
 * The transcriber of `transcription:` for one agent's turn: the provider's endpoint, and its key read by
 * `secret()` in the agent's own scope (fail closed: an agent without the key gets no transcript).
 * `undefined` when transcription is off.
 */
export function transcriberFor(
  config: Pick<ParsedConfig, "providers" | "transcription">,
  profile: AgentProfile,
  fetchImpl?: typeof fetch,
): Transcriber | undefined {
  const t: TranscriptionConfig | undefined = config.transcription;
  if (!t) return undefined;
  const provider = resolveProvider(config, { provider: t.provider });
  if (!provider || provider.kind === "echo" || provider.kind === "anthropic") {
    return async () => {
      throw new MediaError(
        "media_unsupported",
        `transcription.provider "${t.provider}" is not an OpenAI-compatible provider: name an openai or openai-compatible entry of providers`,
      );
    };
  }
  const baseUrl = provider.baseUrl ?? (provider.kind === "openai" ? OPENAI_BASE_URL : undefined);
  const apiKey = provider.apiKeyEnv ? useAgent(profile, () => secret(provider.apiKeyEnv!)) : undefined;
  if (!baseUrl || (provider.apiKeyEnv && !apiKey)) {
    const why = !baseUrl
      ? `providers.${provider.name}.base_url is not set`
      : secretHint(provider.apiKeyEnv!, profile);
    return async () => {
      throw new MediaError("media_unsupported", `transcription is not configured: ${why}`);
    };
  }
  return createTranscriber({
    baseUrl,
    ...(apiKey ? { apiKey } : {}),
    model: t.model,
    ...(t.language ? { language: t.language } : {}),
    timeoutMs: t.timeout_s * 1000,
    ...(provider.headers ? { headers: provider.headers } : {}),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}
