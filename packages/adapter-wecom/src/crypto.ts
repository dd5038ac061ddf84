import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * WeCom's callback crypto (WXBizMsgCrypt): AES-256-CBC with the key from the EncodingAESKey, IV = key[0..16),
 * PKCS#7 padding to 32-byte blocks, plaintext `random(16) ‖ uint32_be(len) ‖ msg ‖ receiveId`.
 * @see https://developer.work.weixin.qq.com/document/path/90968
 */

/** WeCom pads to 32-byte blocks, so a pad byte is 1..32 (Node's automatic padding only allows 16). */
const BLOCK = 32;
const RANDOM_PREFIX = 16;

/** A callback that fails decryption or names the wrong receiver: the request is refused with 400. */
export class WecomCryptoError extends Error {
  override name = "WecomCryptoError";
}

/** The 32-byte AES key of a 43-character EncodingAESKey. */
export function aesKeyOf(encodingAesKey: string): Buffer {
  const key = Buffer.from(encodingAesKey + "=", "base64");
  if (encodingAesKey.length !== 43 || key.length !== 32) {
    throw new WecomCryptoError("the EncodingAESKey must be 43 characters that decode to 32 bytes");
  }
  return key;
}

/** `msg_signature`: SHA-1 hex over the lexicographically sorted token, timestamp, nonce and ciphertext. */
export function signature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash("sha1").update([token, timestamp, nonce, encrypted].sort().join("")).digest("hex");
}

/** Compare a received signature with the expected one in constant time. */
export function signatureMatches(expected: string, received: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(received.toLowerCase(), "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

export function encrypt(key: Buffer, message: string, receiveId: string): string {
  const body = Buffer.from(message, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(RANDOM_PREFIX), length, body, Buffer.from(receiveId, "utf8")]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString("base64");
}

/** Decrypt a callback ciphertext; throws `WecomCryptoError` on anything malformed. */
export function decrypt(key: Buffer, encrypted: string): { message: string; receiveId: string } {
  const data = Buffer.from(encrypted, "base64");
  if (data.length === 0 || data.length % 16 !== 0) {
    throw new WecomCryptoError("the ciphertext is not a whole number of AES blocks");
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch (cause) {
    throw new WecomCryptoError("the ciphertext could not be decrypted", { cause });
  }
  const pad = plain[plain.length - 1]!;
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new WecomCryptoError("bad padding");
  for (let i = plain.length - pad; i < plain.length; i++) {
    if (plain[i] !== pad) throw new WecomCryptoError("bad padding");
  }
  const unpadded = plain.subarray(0, plain.length - pad);
  if (unpadded.length < RANDOM_PREFIX + 4) throw new WecomCryptoError("the plaintext is too short");
  const length = unpadded.readUInt32BE(RANDOM_PREFIX);
  const start = RANDOM_PREFIX + 4;
  if (start + length > unpadded.length)
    throw new WecomCryptoError("the message length overruns the plaintext");
  return {
    message: unpadded.subarray(start, start + length).toString("utf8"),
    receiveId: unpadded.subarray(start + length).toString("utf8"),
  };
}
