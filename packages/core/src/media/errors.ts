/** Why a chat file did not reach the model or the chat; `code` is stable for logs and notes. */
export class MediaError extends Error {
  override name = "MediaError";
  readonly code: "media_too_large" | "media_download_failed" | "media_unsupported";
  constructor(code: MediaError["code"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The file is larger than the cap (said before or while downloading). */
export const mediaTooLarge = (maxBytes: number, size?: number) =>
  new MediaError(
    "media_too_large",
    size !== undefined
      ? `the file is ${formatBytes(size)}, over the limit of ${formatBytes(maxBytes)}`
      : `the file is over the limit of ${formatBytes(maxBytes)}`,
  );

/** `12.3 MB`, `512 KB`, `40 B`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}
