import {
  fetchImage,
  ImageFetchError,
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaTooLarge,
} from "@switchboard/core";

const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * Download an image a user sent, from the URL Tencent IM gave (object storage). The gateway's guarded image
 * fetch is used: never from a private or local address (the configured API host excepted, for a local
 * stand-in), image types only, at most `maxBytes`. Files and voice are not downloaded: the reference this
 * adapter follows documents no download API for them.
 */
export async function downloadYuanbaoImage(
  media: InboundMedia,
  options: { maxBytes: number; apiHost: string },
): Promise<MediaFile> {
  if (media.kind !== "image")
    throw new MediaError("media_unsupported", "Yuanbao files and voice messages cannot be downloaded");
  if (!media.ref) throw new MediaError("media_download_failed", "the image has no URL");
  if (media.size !== undefined && media.size > options.maxBytes)
    throw mediaTooLarge(options.maxBytes, media.size);
  try {
    const image = await fetchImage(media.ref, {
      maxBytes: options.maxBytes,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
      trustedHosts: [options.apiHost],
    });
    const ext = image.mimeType.split("/")[1] ?? "jpg";
    return { data: new Uint8Array(image.data), mimeType: image.mimeType, name: media.name ?? `image.${ext}` };
  } catch (err) {
    if (err instanceof ImageFetchError && err.code === "image_too_large")
      throw mediaTooLarge(options.maxBytes);
    throw new MediaError("media_download_failed", (err as Error).message, { cause: err });
  }
}
