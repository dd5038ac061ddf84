import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { FakeYuanbao, yuanbaoSection } from "./fake-yuanbao.ts";

export const descriptors: ConformanceDescriptors = {
  websocket: {
    name: "yuanbao",
    definition: platform,
    startFake: () => FakeYuanbao.start(),
    config: (fake) => yuanbaoSection(fake as FakeYuanbao),
    chatTypes: ["dm", "group"],
    // A private chat's id is the other person's account id; groups are identified by their group code.
    ids: {
      dmChat: "user1001",
      user: "user1001",
      otherUser: "user5005",
      groupChat: "group2002",
      otherGroupChat: "group2003",
    },
    optOut: {
      "thread-routing": "Yuanbao chats have no threads",
      "formatting-fallback":
        "Yuanbao has one text element (TIMTextElem) and renders its Markdown itself: there is no formatted mode to be refused",
    },
  },
};
