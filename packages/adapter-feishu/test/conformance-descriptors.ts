import type { ConformanceDescriptor, ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { FakeFeishu, feishuSection } from "./fake-feishu.ts";

// Chat and message ids in Feishu's shape; the thread is a topic in a group, identified by its root message.
const ids = {
  dmChat: "oc_dm1001",
  groupChat: "oc_group2002",
  otherGroupChat: "oc_group2003",
  thread: { chatId: "oc_group2004", threadId: "om_root3003" },
  user: "on_user1001",
  otherUser: "on_user5005",
};

function descriptor(mode: "websocket" | "webhook"): ConformanceDescriptor {
  return {
    name: "feishu",
    definition: platform,
    startFake: (env) => FakeFeishu.start({ gatewayUrl: env.gatewayUrl, mode }),
    config: (fake) => feishuSection(fake as FakeFeishu),
    ids,
  };
}

export const descriptors: ConformanceDescriptors = {
  websocket: descriptor("websocket"),
  webhook: descriptor("webhook"),
};
