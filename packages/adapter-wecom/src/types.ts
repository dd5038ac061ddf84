import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** The platform name: the `platforms:` key and the `platform` of every message. */
export const PLATFORM = "wecom";

/** WeCom truncates a text message past this many UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 2048;

export const DEFAULT_API_URL = "https://qyapi.weixin.qq.com";

/** The callback path of an account when `callback_path` is not set. */
export function defaultCallbackPath(account: string): string {
  return `/wecom/${account}/callback`;
}

const missing = (key: string, env: string, where: string) => (issue: { input: unknown }) =>
  issue.input === undefined
    ? `is missing: set ${env} in ~/.switchboard/.env and write \`${key}: \${${env}}\` (${where})`
    : "must be a string";

/** One WeCom self-built app (section-level keys overlaid with `accounts.<name>`). */
export const wecomConfigSchema = platformCommonSchema
  .extend({
    /** The company's CorpID (My Company → Company Information). */
    corp_id: z
      .string({ error: missing("corp_id", "WECOM_CORP_ID", "My Company → Company Information → CorpID") })
      .min(1),
    /** The app's Secret (App Management → the app → Secret). */
    corp_secret: z
      .string({ error: missing("corp_secret", "WECOM_CORP_SECRET", "App Management → your app → Secret") })
      .min(1),
    /** The app's AgentId. */
    agent_id: z
      .union([z.number().int().positive(), z.string().regex(/^\d+$/, "must be the app's numeric AgentId")], {
        error: (issue) =>
          issue.input === undefined
            ? "is missing: set it to the app's AgentId (App Management → your app)"
            : "must be the app's numeric AgentId",
      })
      .transform(Number),
    /** The callback Token (App → Receive Messages → Set API Receive). */
    token: z.string({ error: missing("token", "WECOM_TOKEN", "your app → Receive Messages → Token") }).min(1),
    /** The 43-character EncodingAESKey from the same page. */
    encoding_aes_key: z
      .string({
        error: missing(
          "encoding_aes_key",
          "WECOM_ENCODING_AES_KEY",
          "your app → Receive Messages → EncodingAESKey",
        ),
      })
      .regex(/^[A-Za-z0-9+/]{43}$/, "must be the 43-character EncodingAESKey (letters and digits)"),
    /** The WeCom API host; tests point it at a fake. */
    api_url: z.string().url().default(DEFAULT_API_URL),
    /** Where the gateway's HTTP listener receives this app's callbacks (default `/wecom/<account>/callback`). */
    callback_path: z
      .string()
      .regex(/^\/[^\s?#]*$/, "must be a URL path starting with /")
      .optional(),
  })
  .strict();

export type WecomAdapterConfig = z.output<typeof wecomConfigSchema>;
export type WecomAdapterConfigInput = z.input<typeof wecomConfigSchema>;

/**
 * The fields of a decrypted callback message, as WeCom names them (`MsgType`, `Content`, …).
 * @see https://developer.work.weixin.qq.com/document/path/90239
 */
export type WecomMessageFields = Record<string, string>;

/** @see https://developer.work.weixin.qq.com/document/path/91039 */
export interface WecomTokenResponse {
  errcode: number;
  errmsg: string;
  access_token?: string;
  expires_in?: number;
}

/** @see https://developer.work.weixin.qq.com/document/path/90236 */
export interface WecomSendResponse {
  errcode: number;
  errmsg: string;
  msgid?: string;
  invaliduser?: string;
}
