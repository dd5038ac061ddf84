/** `data:<type>;base64,<bytes>`: how an image reaches a provider without the provider fetching anything. */
export function toDataUrl(mimeType: string, data: Uint8Array): string {
  return `data:${mimeType};base64,${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64")}`;
}
