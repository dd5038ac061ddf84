import { silentLogger } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { aesKeyOf, decrypt, encrypt, signature, WecomCryptoError } from "../src/crypto.ts";
import { createCallbackHandlers } from "../src/webhook.ts";
import { parseWecomXml } from "../src/xml.ts";

// WeCom's published WXBizMsgCrypt sample (https://developer.work.weixin.qq.com/document/path/90968).
const TOKEN = "QDG6eK";
const AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP_ID = "wx5823bf96d3bd56c7";
const VERIFY_ECHOSTR =
  "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const PUSH_ENCRYPT =
  "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

describe("WeCom callback crypto", () => {
  it("signs and decrypts the published URL-verification sample", () => {
    expect(signature(TOKEN, "1409659589", "263014780", VERIFY_ECHOSTR)).toBe(
      "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    );
    const out = decrypt(aesKeyOf(AES_KEY), VERIFY_ECHOSTR);
    expect(out).toEqual({ message: "1616140317555161061", receiveId: CORP_ID });
  });

  it("signs and decrypts the published message-push sample", () => {
    expect(signature(TOKEN, "1409659813", "1372623149", PUSH_ENCRYPT)).toBe(
      "477715d11cdb4164915debcba66cb864d751f3e6",
    );
    const out = decrypt(aesKeyOf(AES_KEY), PUSH_ENCRYPT);
    expect(out.receiveId).toBe(CORP_ID);
    const fields = parseWecomXml(out.message);
    expect(fields).toMatchObject({
      ToUserName: CORP_ID,
      FromUserName: "mycreate",
      MsgType: "text",
      Content: "hello",
    });
  });

  it("round-trips messages of every padding length, including a whole 32-byte pad block", () => {
    const key = aesKeyOf(AES_KEY);
    // 16 random + 4 length + 26 + 18 (corp id) = 64 bytes: a full 32-byte pad block follows.
    const messages = ["x".repeat(26), "中文消息 hello", "", "a".repeat(1000)];
    for (let n = 0; n < 40; n++) messages.push("y".repeat(n));
    for (const m of messages) {
      const enc = encrypt(key, m, CORP_ID);
      expect(Buffer.from(enc, "base64").length % 32).toBe(0);
      expect(decrypt(key, enc)).toEqual({ message: m, receiveId: CORP_ID });
    }
  });

  it("refuses ciphertexts that are truncated, tampered with or made with another key", () => {
    const key = aesKeyOf(AES_KEY);
    const enc = encrypt(key, "<xml><Content>hi</Content></xml>", CORP_ID);
    const bytes = Buffer.from(enc, "base64");
    expect(() => decrypt(key, bytes.subarray(0, bytes.length - 3).toString("base64"))).toThrow(
      WecomCryptoError,
    );
    expect(() => decrypt(key, "")).toThrow(WecomCryptoError);
    const other = aesKeyOf("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG");
    // Another key decrypts to noise: the padding or length check fails, or the receiver does not match.
    let refusedOrWrong = false;
    try {
      refusedOrWrong = decrypt(other, enc).receiveId !== CORP_ID;
    } catch (err) {
      refusedOrWrong = err instanceof WecomCryptoError;
    }
    expect(refusedOrWrong).toBe(true);
  });

  it("rejects an EncodingAESKey that is not 43 characters", () => {
    expect(() => aesKeyOf("short")).toThrow(WecomCryptoError);
  });
});

describe("WeCom callback handlers", () => {
  it("answer the published URL-verification request with the sample's plaintext", async () => {
    const handlers = createCallbackHandlers({
      token: TOKEN,
      key: aesKeyOf(AES_KEY),
      corpId: CORP_ID,
      logger: silentLogger(),
      stopped: () => false,
      onMessage: async () => {},
      now: () => 1409659589 * 1000,
    });
    const query = new URLSearchParams({
      msg_signature: "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
      timestamp: "1409659589",
      nonce: "263014780",
      echostr: VERIFY_ECHOSTR,
    });
    const res = await handlers.get(new Request(`http://gw/wecom/default/callback?${query}`));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1616140317555161061");
  });
});
