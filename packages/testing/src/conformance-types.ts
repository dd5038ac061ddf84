import type { PlatformDefinition } from "@switchboard/core";

/** An inbound message for the fake platform to deliver to the adapter, in the platform's own wire format. */
export interface FakeInbound {
  /** Which bot account receives it (default `"default"`). */
  account?: string;
  chatType: "dm" | "group" | "thread";
  chatId: string;
  /** Thread / topic id (a Discord thread's id is both chatId and threadId; its parent goes in parentChatId). */
  threadId?: string;
  parentChatId?: string;
  guildId?: string;
  userId: string;
  userName?: string;
  text: string;
  /** The message mentions the bot (in the platform's way: @name entity, <@id>, …). */
  mention?: boolean;
  /** Sent by the bot account itself (the fake marks it as the bot's own). */
  fromSelf?: boolean;
  messageId?: string;
  /** Files attached to the message: the fake serves them through its file API (`media-in`). */
  media?: FakeMedia[];
}

/** A file a fake platform serves for an injected message, as a user would have sent it. */
export interface FakeMedia {
  kind: "image" | "file" | "audio";
  name: string;
  mimeType: string;
  data: Uint8Array;
  /** A recorded voice note. */
  voice?: boolean;
}

/** A file the adapter uploaded into a chat of the fake platform (`media-out`). */
export interface FakeUpload {
  account: string;
  chatId: string;
  threadId?: string;
  /** The file name the platform received (an image may have none where the API carries no name: Feishu).  */
  name: string;
  /** The bytes as uploaded. */
  data: Uint8Array;
  /** How the platform was asked to show it: the method or message type (`sendPhoto`, `m.image`, `image`…). */
  as: string;
  caption?: string;
  raw?: unknown;
}

/** A message the adapter sent to the fake platform. */
export interface FakeSent {
  account: string;
  chatId: string;
  threadId?: string;
  /** The text as the platform received it (after formatting). */
  text: string;
  /** The formatting mode the platform was asked for (e.g. `HTML`, `mrkdwn`, `post`), if any. */
  format?: string;
  raw: unknown;
}

/** A fake platform server on 127.0.0.1, driven by the conformance suite. */
export interface FakePlatform {
  /** Deliver an inbound message to the adapter as the platform would (poll update, WS event, webhook POST). */
  inject(message: FakeInbound): Promise<void>;
  /** Everything sent so far, in order. */
  sent(): FakeSent[];
  /** Resolve with the first sent message (past or future) matching `predicate`; reject after `timeoutMs`. */
  waitForSent(predicate: (m: FakeSent) => boolean, timeoutMs?: number): Promise<FakeSent>;
  /** Make the next `count` send calls fail with `status` (429 carries `retryAfterSeconds`). */
  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds?: number): void;
  /** Make the next send with formatting be rejected as the platform rejects bad markup (for the fallback test). */
  rejectNextFormatted?(): void;
  /**
   * Optional fake capabilities, run by the suite for an adapter that declares the matching platform
   * capability: `mediaIn` (the fake serves `FakeInbound.media` through its file API) and `mediaOut` (it
   * records uploads for `uploads()`).
   */
  media?: {
    in?: boolean;
    out?: boolean;
    /** The kinds of file a user can send on the platform (default both; WeCom apps get no documents). */
    inKinds?: Array<"image" | "file">;
  };
  /** Files uploaded so far, in order (with `media.out`). */
  uploads?(): FakeUpload[];
  close(): Promise<void>;
}

export interface ConformanceEnv {
  /** The gateway's HTTP listener base URL (`http://127.0.0.1:PORT`), for webhook-mode platforms. */
  gatewayUrl: string;
}

export const CONFORMANCE_TESTS = [
  "dm-routing",
  "group-routing",
  "thread-routing",
  "reply-same-chat-thread-account",
  "long-reply-split",
  "formatting-fallback",
  "ignores-self",
  "mention-gating",
  "retries-429",
  "retries-5xx",
  "media-in",
  "media-out",
  "stop-no-handles",
] as const;
export type ConformanceTest = (typeof CONFORMANCE_TESTS)[number];

export interface ConformanceDescriptor {
  /** The platform name (the `platforms:` key). */
  name: string;
  definition: PlatformDefinition;
  /** Start the fake platform. */
  startFake(env: ConformanceEnv): Promise<FakePlatform>;
  /**
   * The `platforms.<name>` section pointing at the fake, with two accounts: `default` and `second`.
   * The suite adds `allow_all_users: true` and sets `require_mention` itself.
   */
  config(fake: FakePlatform, env: ConformanceEnv): Record<string, unknown>;
  /** Tests this adapter cannot run, each with the reason. */
  optOut?: Partial<Record<ConformanceTest, string>>;
  /** Which chat types the platform has (default all three). */
  chatTypes?: Array<"dm" | "group" | "thread">;
  /** Ids in the platform's own shape (Matrix `!room:hs`, Slack `C…`); defaults are numeric strings. */
  ids?: Partial<ConformanceIds>;
  /** How long to wait for a reply (default 5,000 ms). */
  replyTimeoutMs?: number;
}

export interface ConformanceOptions {
  /** Run only these tests (the meta-test runs every adapter's descriptor through `dm-routing`). */
  only?: readonly ConformanceTest[];
}

/**
 * What each adapter package exports from `test/conformance-descriptors.ts`: its descriptors by receive
 * mode (`polling`, `webhook`, …). Its conformance tests and the meta-test both run them.
 */
export type ConformanceDescriptors = Record<string, ConformanceDescriptor>;

/** The chats and users the suite talks in. */
export interface ConformanceIds {
  dmChat: string;
  groupChat: string;
  /** A second group chat, routed to no agent in particular. */
  otherGroupChat: string;
  /** A thread: the chat it lives in (Discord: the thread channel; Telegram: the forum), its id and its parent. */
  thread: { chatId: string; threadId: string; parentChatId?: string };
  user: string;
  otherUser: string;
}

export const DEFAULT_CONFORMANCE_IDS: ConformanceIds = {
  dmChat: "1001",
  groupChat: "2002",
  otherGroupChat: "2003",
  thread: { chatId: "2004", threadId: "3003", parentChatId: "2004" },
  user: "1001",
  otherUser: "5005",
};
