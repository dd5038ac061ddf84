import { describe, expect, it } from "vitest";
import { decodeFrame, decodePush, encode, encodeFrame } from "../src/index.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("protobuf frames", () => {
  it("puts the head fields at the protocol's field numbers", () => {
    // Head: 1 cmd_type=1, 2 cmd="ping", 4 msg_id="a", 6 need_ack=true, 10 status=5; ConnMsg: 1 head, 2 data.
    const bytes = encodeFrame(
      { cmd_type: 1, cmd: "ping", msg_id: "a", need_ack: true, status: 5 },
      Uint8Array.of(0xff),
    );
    expect(hex(bytes)).toBe(`0a0f` + `0801` + `120470696e67` + `220161` + `3001` + `5005` + `1201ff`);
    expect(decodeFrame(bytes)).toMatchObject({
      head: { cmd_type: 1, cmd: "ping", msg_id: "a", need_ack: true, status: 5, seq_no: 0, module: "" },
      data: Buffer.from([0xff]),
    });
  });

  it("encodes a quoted group send with ref_msg_id at field 7 and the body at field 6", () => {
    const bytes = encode("SendGroupMessageReq", {
      group_code: "g",
      msg_body: [{ msg_type: "T", msg_content: { text: "x" } }],
      ref_msg_id: "r",
    });
    // 2 group_code="g" | 6 msg_body{1 "T", 2 {1 "x"}} | 7 ref_msg_id="r"
    expect(hex(bytes)).toBe("120167" + "3208" + "0a0154" + "1203" + "0a0178" + "3a0172");
  });

  it("decodes an InboundMessagePush (msg_id at 12, msg_body at 13) and a JSON push to the same shape", () => {
    const push = {
      callback_command: "C2C.CallbackAfterSendMsg",
      from_account: "u1",
      msg_id: "m1",
      msg_time: 1700000000,
      msg_body: [{ msg_type: "TIMTextElem", msg_content: { text: "hi" } }],
    };
    const fromPb = decodePush(encode("InboundMessagePush", push));
    const fromJson = decodePush(Buffer.from(JSON.stringify(push)));
    expect(fromPb).toMatchObject(push);
    expect(fromJson).toMatchObject(push);
    expect(hex(encode("InboundMessagePush", { msg_id: "m" }))).toBe("62016d");
    expect(decodePush(Buffer.from("not a push"))).toBeUndefined();
  });
});
