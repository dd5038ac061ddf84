import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import type { Head, InboundPush, MsgBodyElement } from "./types.ts";

/** The message definitions, shipped beside `src/` and `dist/` in the package. */
export const PROTO_FILE = fileURLToPath(new URL("../proto/yuanbao.proto", import.meta.url));

let root: protobuf.Root | undefined;

/** A message type of `proto/yuanbao.proto` (the file is parsed once, on first use). */
export function messageType(name: string): protobuf.Type {
  // keepCase: the wire names (`msg_id`) are the object keys, as in Yuanbao's JSON pushes.
  root ??= protobuf.parse(readFileSync(PROTO_FILE, "utf8"), { keepCase: true }).root;
  return root.lookupType(`yuanbao.${name}`);
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, objects: true };

/** Encode `value` as message `name`; a value of the wrong type is an error, not a silent zero. */
export function encode(name: string, value: Record<string, unknown>): Uint8Array {
  const type = messageType(name);
  const problem = type.verify(value);
  if (problem) throw new TypeError(`yuanbao ${name}: ${problem}`);
  return type.encode(type.fromObject(value)).finish();
}

/** Decode message `name` to a plain object with every field present (defaults filled in). */
export function decode<T = Record<string, unknown>>(name: string, bytes: Uint8Array): T {
  const type = messageType(name);
  return type.toObject(type.decode(bytes), TO_OBJECT) as T;
}

/** One WebSocket frame. */
export interface Frame {
  head: Head;
  data: Uint8Array;
}

export function encodeFrame(head: Partial<Head>, data?: Uint8Array): Uint8Array {
  return encode("ConnMsg", { head, ...(data && data.length > 0 ? { data } : {}) });
}

export function decodeFrame(bytes: Uint8Array): Frame {
  const msg = decode<{ head: Head; data: Uint8Array }>("ConnMsg", bytes);
  return { head: msg.head, data: msg.data };
}

/**
 * A push's `data` as an `InboundPush`: JSON is tried first (Yuanbao sends both; JSON may use Tencent IM's
 * PascalCase keys), then protobuf `InboundMessagePush`. `undefined` when it is neither.
 */
export function decodePush(data: Uint8Array): InboundPush | undefined {
  const json = parseJsonObject(data);
  if (json) return fromJson(json);
  try {
    const push = decode<InboundPush & { msg_body: MsgBodyElement[] }>("InboundMessagePush", data);
    return push.from_account || push.msg_body.length || push.callback_command ? push : undefined;
  } catch {
    return undefined;
  }
}

function parseJsonObject(data: Uint8Array): Record<string, unknown> | undefined {
  // A protobuf message starts with a field tag, never with `{`.
  if (data[0] !== 0x7b) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data).toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const str = (...values: unknown[]): string => {
  for (const v of values) if (typeof v === "string" && v) return v;
  return "";
};
const num = (...values: unknown[]): number => {
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) return v;
  return 0;
};

/** A JSON push (snake_case callback format or Tencent IM's `From_Account`/`GroupId`/`MsgBody`) → `InboundPush`. */
function fromJson(j: Record<string, unknown>): InboundPush | undefined {
  const body = (
    Array.isArray(j.msg_body) ? j.msg_body : Array.isArray(j.MsgBody) ? j.MsgBody : []
  ) as unknown[];
  const msgBody: MsgBodyElement[] = [];
  for (const item of body) {
    if (typeof item !== "object" || item === null) continue;
    const e = item as Record<string, unknown>;
    let content: unknown = e.msg_content ?? e.MsgContent ?? {};
    if (typeof content === "string") {
      try {
        content = JSON.parse(content) as unknown;
      } catch {
        content = { text: content };
      }
    }
    const c = (typeof content === "object" && content !== null ? content : {}) as Record<string, unknown>;
    // Tencent IM's own JSON spells content keys `Text`, `Data`, `Desc`, `Url`, `FileName`.
    msgBody.push({
      msg_type: str(e.msg_type, e.MsgType),
      msg_content: {
        ...c,
        ...(str(c.text, c.Text) ? { text: str(c.text, c.Text) } : {}),
        ...(str(c.data, c.Data) ? { data: str(c.data, c.Data) } : {}),
        ...(str(c.desc, c.Desc) ? { desc: str(c.desc, c.Desc) } : {}),
        ...(str(c.url, c.Url) ? { url: str(c.url, c.Url) } : {}),
        ...(str(c.file_name, c.FileName) ? { file_name: str(c.file_name, c.FileName) } : {}),
      },
    });
  }
  const push: InboundPush = {
    callback_command: str(j.callback_command, j.CallbackCommand),
    from_account: str(j.from_account, j.From_Account),
    to_account: str(j.to_account, j.To_Account),
    sender_nickname: str(j.sender_nickname, j.nick_name, j.NickName),
    group_code: str(j.group_code, j.GroupId, j.group_id),
    group_name: str(j.group_name, j.GroupName),
    msg_seq: num(j.msg_seq, j.MsgSeq),
    msg_random: num(j.msg_random, j.MsgRandom),
    msg_time: num(j.msg_time, j.MsgTime),
    msg_key: str(j.msg_key, j.MsgKey),
    msg_id: str(j.msg_id, j.MsgId),
    msg_body: msgBody,
    cloud_custom_data: str(j.cloud_custom_data, j.CloudCustomData),
    bot_owner_id: str(j.bot_owner_id, j.botOwnerId),
    private_from_group_code: str(j.private_from_group_code),
  };
  return push.from_account || push.msg_body.length || push.callback_command ? push : undefined;
}
