import { describe, expect, it } from "vitest";
import type { InboundMessage } from "../src/platform.ts";
import { buildSessionKey, type SessionKeyOptions } from "../src/sessions/key.ts";
import { type SessionSource, sourceOf } from "../src/sessions/source.ts";

type Row = [name: string, source: SessionSource, options: SessionKeyOptions, key: string];

const tg = (s: Partial<SessionSource>): SessionSource => ({ platform: "telegram", chatType: "dm", ...s });

/** DESIGN §5 and upstream §2.3: every single-agent, default-account key is byte-identical to upstream's. */
const TABLE: Row[] = [
  // DMs
  ["telegram DM", tg({ chatId: "123456", userId: "123456" }), {}, "agent:main:telegram:dm:123456"],
  [
    "DM with a thread",
    tg({ chatId: "123456", threadId: "9", userId: "123456" }),
    {},
    "agent:main:telegram:dm:123456:9",
  ],
  ["DM without chat id falls back to the user", tg({ userId: "77" }), {}, "agent:main:telegram:dm:77"],
  [
    "DM without chat id prefers user_id_alt",
    { platform: "signal", chatType: "dm", userId: "+1555", userIdAlt: "uuid-1" },
    {},
    "agent:main:signal:dm:uuid-1",
  ],
  ["DM with only a thread", tg({ threadId: "5" }), {}, "agent:main:telegram:dm:5"],
  ["bare DM", tg({}), {}, "agent:main:telegram:dm"],
  [
    "DM ignores group_per_user",
    tg({ chatId: "1", userId: "1" }),
    { groupPerUser: false },
    "agent:main:telegram:dm:1",
  ],
  // groups
  [
    "group, per user (default)",
    tg({ chatType: "group", chatId: "-100123", userId: "987" }),
    {},
    "agent:main:telegram:group:-100123:987",
  ],
  [
    "group, shared",
    tg({ chatType: "group", chatId: "-100123", userId: "987" }),
    { groupPerUser: false },
    "agent:main:telegram:group:-100123",
  ],
  [
    "group, per user with user_id_alt",
    { platform: "feishu", chatType: "group", chatId: "oc_1", userId: "ou_1", userIdAlt: "on_1" },
    {},
    "agent:main:feishu:group:oc_1:on_1",
  ],
  [
    "group without a user",
    tg({ chatType: "group", chatId: "-100123" }),
    {},
    "agent:main:telegram:group:-100123",
  ],
  [
    "forum topic, shared by default",
    tg({ chatType: "group", chatId: "-100123", threadId: "42", userId: "987" }),
    {},
    "agent:main:telegram:group:-100123:42",
  ],
  [
    "forum topic, thread_per_user",
    tg({ chatType: "group", chatId: "-100123", threadId: "42", userId: "987" }),
    { threadPerUser: true },
    "agent:main:telegram:group:-100123:42:987",
  ],
  [
    "forum topic, thread_per_user but group_per_user off",
    tg({ chatType: "group", chatId: "-100123", threadId: "42", userId: "987" }),
    { groupPerUser: false, threadPerUser: true },
    "agent:main:telegram:group:-100123:42",
  ],
  // channels
  [
    "channel, per user",
    { platform: "slack", chatType: "channel", chatId: "C01", userId: "U1" },
    {},
    "agent:main:slack:channel:C01:U1",
  ],
  [
    "channel, shared",
    { platform: "slack", chatType: "channel", chatId: "C01", userId: "U1" },
    { groupPerUser: false },
    "agent:main:slack:channel:C01",
  ],
  // threads
  [
    "Discord thread: chat and thread are the thread channel",
    { platform: "discord", chatType: "thread", chatId: "555", threadId: "555", userId: "u" },
    {},
    "agent:main:discord:thread:555:555",
  ],
  [
    "Discord thread, thread_per_user",
    { platform: "discord", chatType: "thread", chatId: "555", threadId: "555", userId: "u" },
    { threadPerUser: true },
    "agent:main:discord:thread:555:555:u",
  ],
  [
    "Slack thread in a channel, routed agent",
    {
      platform: "slack",
      chatType: "group",
      chatId: "C01",
      threadId: "1712.3456",
      userId: "U1",
      agentId: "coder",
    },
    {},
    "agent:coder:slack:group:C01:1712.3456",
  ],
  // accounts and agents
  [
    "named account",
    tg({ chatId: "123456", account: "support" }),
    {},
    "agent:main:telegram@support:dm:123456",
  ],
  [
    "default account spelled out",
    tg({ chatId: "123456", account: "default" }),
    {},
    "agent:main:telegram:dm:123456",
  ],
  ["named agent", tg({ chatId: "123456", agentId: "ops" }), {}, "agent:ops:telegram:dm:123456"],
  ["main spelled out", tg({ chatId: "123456", agentId: "main" }), {}, "agent:main:telegram:dm:123456"],
  [
    "named agent on a named account, group",
    tg({ chatType: "group", chatId: "-1009999", userId: "7", account: "support", agentId: "support" }),
    {},
    "agent:support:telegram@support:group:-1009999:7",
  ],
  [
    "named agent on a named account, topic",
    tg({ chatType: "group", chatId: "-1009999", threadId: "7", userId: "1", account: "ops", agentId: "ops" }),
    { groupPerUser: true, threadPerUser: false },
    "agent:ops:telegram@ops:group:-1009999:7",
  ],
];

describe("buildSessionKey", () => {
  it.each(TABLE)("%s", (_name, source, options, key) => {
    expect(buildSessionKey(source, options)).toBe(key);
  });

  it("never lets another agent or account share main's key for the same chat", () => {
    const base = tg({ chatType: "group", chatId: "-100", userId: "1" });
    const keys = [
      base,
      { ...base, agentId: "ops" },
      { ...base, account: "support" },
      { ...base, agentId: "ops", account: "support" },
    ].map((s) => buildSessionKey(s));
    expect(new Set(keys).size).toBe(4);
  });

  it("builds the same key from an inbound platform message as from its source", () => {
    const inbound: InboundMessage = {
      platform: "telegram",
      account: "default",
      messageId: "m1",
      chat: { id: "-100123", type: "group" },
      threadId: "42",
      user: { id: "987", name: "Ada" },
      text: "hi",
    };
    expect(buildSessionKey(sourceOf(inbound))).toBe("agent:main:telegram:group:-100123:42");
    expect(buildSessionKey(sourceOf(inbound, "ops"), { threadPerUser: true })).toBe(
      "agent:ops:telegram:group:-100123:42:987",
    );
    expect(buildSessionKey(sourceOf({ ...inbound, account: "support" }, "support"))).toBe(
      "agent:support:telegram@support:group:-100123:42",
    );
  });
});
