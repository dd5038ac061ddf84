import { adapterConformance } from "@switchboard/testing";
import { describe } from "vitest";
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

for (const mode of ["websocket", "webhook"] as const) {
  describe(`${mode} mode`, () => {
    adapterConformance({
      name: "feishu",
      definition: platform,
      startFake: (env) => FakeFeishu.start({ gatewayUrl: env.gatewayUrl, mode }),
      config: (fake) => feishuSection(fake as FakeFeishu),
      ids,
    });
  });
}
