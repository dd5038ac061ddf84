import { describe, expect, it } from "vitest";
import { type InboundPush, normalizePush } from "../src/index.ts";

const base: InboundPush = {
  callback_command: "Group.CallbackAfterSendMsg",
  from_account: "u1",
  to_account: "",
  sender_nickname: "Ann",
  group_code: "g1",
  group_name: "Team",
  msg_seq: 3,
  msg_random: 4,
  msg_time: 1700000000,
  msg_key: "",
  msg_id: "m1",
  msg_body: [],
  cloud_custom_data: "",
  bot_owner_id: "",
  private_from_group_code: "",
};
const ctx = { account: "default", botId: "bot1" };
const mention = (userId: string, text: string) => ({
  msg_type: "TIMCustomElem",
  msg_content: { data: JSON.stringify({ elem_type: 1002, user_id: userId, text }) },
});
const text = (t: string) => ({ msg_type: "TIMTextElem", msg_content: { text: t } });

describe("normalizePush", () => {
  it("turns a group message that @-mentions the bot into a mentioned group message without the mention", () => {
    const m = normalizePush(
      { ...base, msg_body: [mention("bot1", "@Bot"), text(" hello "), mention("u2", "@Bea"), text(" too")] },
      ctx,
    );
    expect(m).toEqual({
      platform: "yuanbao",
      account: "default",
      messageId: "m1",
      chat: { id: "g1", type: "group", name: "Team" },
      user: { id: "u1", name: "Ann", isBot: false },
      text: "hello @Bea too",
      mentionsBot: true,
      timestamp: 1700000000_000,
    });
  });

  it("treats a push without group_code as a private chat with the sender", () => {
    const m = normalizePush({ ...base, group_code: "", group_name: "", msg_body: [text("hi")] }, ctx);
    expect(m?.chat).toEqual({ id: "u1", type: "dm", name: "Ann" });
    expect(m?.mentionsBot).toBeUndefined();
  });

  it("marks the bot's own messages, reads quotes, and lists media", () => {
    const self = normalizePush({ ...base, from_account: "bot1", msg_body: [text("me")] }, ctx);
    expect(self).toMatchObject({ isSelf: true, user: { isBot: true } });
    const quoted = normalizePush(
      {
        ...base,
        cloud_custom_data: JSON.stringify({ quote: { id: "m0", desc: "earlier", sender_id: "bot1" } }),
        msg_body: [
          {
            msg_type: "TIMImageElem",
            msg_content: { image_info_array: [{ url: "https://o" }, { url: "https://l" }] },
          },
          { msg_type: "TIMFileElem", msg_content: { url: "https://f", file_name: "a.pdf" } },
        ],
      },
      ctx,
    );
    expect(quoted?.replyTo).toEqual({ messageId: "m0", text: "earlier", fromBot: true });
    expect(quoted?.media).toEqual([
      { kind: "image", ref: "https://l" },
      { kind: "file", ref: "https://f", name: "a.pdf" },
    ]);
  });

  it("drops recalls and pushes without a sender or id", () => {
    expect(normalizePush({ ...base, callback_command: "C2C.CallbackAfterMsgWithDraw" }, ctx)).toBeUndefined();
    expect(normalizePush({ ...base, from_account: "" }, ctx)).toBeUndefined();
    expect(normalizePush({ ...base, msg_id: "", msg_key: "", msg_seq: 0 }, ctx)).toBeUndefined();
    expect(normalizePush({ ...base, msg_id: "", msg_key: "k9" }, ctx)?.messageId).toBe("k9");
  });
});
