import { randomInt, randomUUID } from "node:crypto";
import { decode, encode, type Frame } from "./codec.ts";
import type { YuanbaoConnection } from "./connection.ts";
import { toPlatformError } from "./errors.ts";
import { BIZ_MODULE, type ChatTarget } from "./types.ts";

/**
 * Send one text element to a group (`send_group_message`, quoting `refMsgId` when given) or a private chat
 * (`send_c2c_message`) and wait for Yuanbao's answer; resolves with the id the message was sent under.
 */
export async function sendText(
  connection: YuanbaoConnection,
  from: string,
  target: ChatTarget,
  text: string,
  opts: { refMsgId?: string } = {},
): Promise<string> {
  const msgId = randomUUID().replaceAll("-", "");
  const msgBody = [{ msg_type: "TIMTextElem", msg_content: { text } }];
  let cmd: string;
  let data: Uint8Array;
  if (target.kind === "group") {
    cmd = "send_group_message";
    data = encode("SendGroupMessageReq", {
      msg_id: msgId,
      group_code: target.groupCode,
      from_account: from,
      random: String(randomInt(1, 2 ** 31)),
      msg_body: msgBody,
      ...(opts.refMsgId ? { ref_msg_id: opts.refMsgId } : {}),
    });
  } else {
    cmd = "send_c2c_message";
    data = encode("SendC2CMessageReq", {
      msg_id: msgId,
      to_account: target.userId,
      from_account: from,
      msg_random: randomInt(1, 2 ** 31),
      msg_body: msgBody,
    });
  }
  checkAnswer(cmd, await connection.request(cmd, BIZ_MODULE, data));
  return msgId;
}

/** A reply heartbeat (RUNNING or FINISH); nobody waits for its answer. */
export function sendHeartbeat(
  connection: YuanbaoConnection,
  from: string,
  target: ChatTarget,
  state: number,
): void {
  if (target.kind === "group") {
    connection.fire(
      "send_group_heartbeat",
      BIZ_MODULE,
      encode("SendGroupHeartbeatReq", {
        from_account: from,
        to_account: "",
        group_code: target.groupCode,
        send_time: Date.now(),
        heartbeat: state,
      }),
    );
  } else {
    connection.fire(
      "send_private_heartbeat",
      BIZ_MODULE,
      encode("SendPrivateHeartbeatReq", { from_account: from, to_account: target.userId, heartbeat: state }),
    );
  }
}

/** A send's Response: `Head.status` and `SendMessageRsp.code` must both say success. */
function checkAnswer(cmd: string, frame: Frame): void {
  const rsp =
    frame.data.length > 0
      ? decode<{ code: number; message: string }>("SendMessageRsp", frame.data)
      : undefined;
  const status = frame.head.status;
  const badStatus = status !== 0 && status !== 200;
  if (badStatus || (rsp && rsp.code !== 0)) {
    throw toPlatformError({
      action: cmd,
      ...(badStatus ? { status } : {}),
      ...(rsp?.code ? { code: rsp.code } : {}),
      ...(rsp?.message ? { message: rsp.message } : {}),
    });
  }
}
