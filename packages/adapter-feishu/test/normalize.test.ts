import { describe, expect, it } from "vitest";
import { normalizeReceive } from "../src/normalize.ts";
import type { FeishuReceiveEvent } from "../src/types.ts";

const BOT = "ou_bot";

function event(
  message: Partial<FeishuReceiveEvent["message"]>,
  sender: Partial<FeishuReceiveEvent["sender"]> = {},
): FeishuReceiveEvent {
  return {
    sender: {
      sender_id: { open_id: "ou_alice", union_id: "on_alice", user_id: "alice" },
      sender_type: "user",
      ...sender,
    },
    message: {
      message_id: "om_1",
      chat_id: "oc_chat",
      chat_type: "p2p",
      message_type: "text",
      content: JSON.stringify({ text: "hello" }),
      create_time: "1700000000000",
      ...message,
    },
  };
}

const ctx = { account: "default", botOpenId: BOT };

describe("Feishu normalization", () => {
  it("maps a p2p text message to a dm", () => {
    expect(normalizeReceive(event({}), ctx)).toEqual({
      platform: "feishu",
      account: "default",
      messageId: "om_1",
      chat: { id: "oc_chat", type: "dm" },
      user: { id: "ou_alice", idAlt: "on_alice", isBot: false },
      text: "hello",
      timestamp: 1700000000000,
    });
  });

  it("maps a group message mentioning the bot: placeholder stripped, mentionsBot set, other mentions named", () => {
    const inbound = normalizeReceive(
      event({
        chat_type: "group",
        content: JSON.stringify({ text: "@_user_1 ask @_user_2 please" }),
        mentions: [
          { key: "@_user_1", id: { open_id: BOT }, name: "Bot" },
          { key: "@_user_2", id: { open_id: "ou_bob" }, name: "Bob" },
        ],
      }),
      ctx,
    );
    expect(inbound).toMatchObject({ chat: { type: "group" }, text: "ask @Bob please", mentionsBot: true });
  });

  it("does not count a mention of someone else as mentioning the bot", () => {
    const inbound = normalizeReceive(
      event({
        chat_type: "group",
        content: JSON.stringify({ text: "@_user_1 hi" }),
        mentions: [{ key: "@_user_1", id: { open_id: "ou_bob" }, name: "Bob" }],
      }),
      ctx,
    );
    expect(inbound?.mentionsBot).toBeUndefined();
    expect(inbound?.text).toBe("@Bob hi");
  });

  it("puts a message in a thread under the thread's root message; the root is its own thread", () => {
    const reply = normalizeReceive(
      event({ chat_type: "group", thread_id: "omt_1", root_id: "om_root", parent_id: "om_root" }),
      ctx,
    );
    expect(reply).toMatchObject({ threadId: "om_root", chat: { id: "oc_chat", type: "group" } });
    expect(reply?.replyTo).toBeUndefined();
    const root = normalizeReceive(
      event({ message_id: "om_root", chat_type: "group", thread_id: "omt_1" }),
      ctx,
    );
    expect(root?.threadId).toBe("om_root");
  });

  it("treats a quote-reply outside threads as replyTo, marking replies to the bot", () => {
    const own = new Set(["om_bot_said"]);
    const inbound = normalizeReceive(
      event({ chat_type: "group", root_id: "om_bot_said", parent_id: "om_bot_said" }),
      {
        ...ctx,
        isOwnMessage: (id) => own.has(id),
      },
    );
    expect(inbound?.threadId).toBeUndefined();
    expect(inbound?.replyTo).toEqual({ messageId: "om_bot_said", fromBot: true });
  });

  it("marks app senders as bots and the bot itself as self", () => {
    expect(
      normalizeReceive(event({}, { sender_type: "app", sender_id: { open_id: "ou_other_bot" } }), ctx)?.user
        .isBot,
    ).toBe(true);
    const self = normalizeReceive(event({}, { sender_type: "app", sender_id: { open_id: BOT } }), ctx);
    expect(self).toMatchObject({ isSelf: true, user: { isBot: true } });
  });

  it("reads post messages as plain text with mentions resolved", () => {
    const content = {
      title: "Plan",
      content: [
        [
          { tag: "at", user_id: "@_user_1", user_name: "Bot" },
          { tag: "text", text: " ship " },
          { tag: "text", text: "it", style: ["bold"] },
        ],
        [{ tag: "a", text: "spec", href: "https://x.test/s" }],
      ],
    };
    const inbound = normalizeReceive(
      event({
        chat_type: "group",
        message_type: "post",
        content: JSON.stringify(content),
        mentions: [{ key: "@_user_1", id: { open_id: BOT }, name: "Bot" }],
      }),
      ctx,
    );
    expect(inbound).toMatchObject({ text: "Plan\nship it\nspec (https://x.test/s)", mentionsBot: true });
  });

  it("keeps images as media and ignores stickers and broken content", () => {
    const image = normalizeReceive(
      event({ message_type: "image", content: JSON.stringify({ image_key: "img_1" }) }),
      ctx,
    );
    expect(image).toMatchObject({
      text: "",
      media: [{ kind: "image", ref: expect.stringMatching(/^image:.*:img_1$/) }],
    });
    expect(normalizeReceive(event({ message_type: "sticker", content: "{}" }), ctx)).toBeUndefined();
    expect(normalizeReceive(event({ content: "{not json" }), ctx)).toBeUndefined();
  });

  it("cannot see mentions of the bot before it knows its own open_id", () => {
    const inbound = normalizeReceive(
      event({
        chat_type: "group",
        content: JSON.stringify({ text: "@_user_1 hi" }),
        mentions: [{ key: "@_user_1", id: { open_id: BOT }, name: "Bot" }],
      }),
      { account: "default", botOpenId: undefined },
    );
    expect(inbound?.mentionsBot).toBeUndefined();
  });
});
