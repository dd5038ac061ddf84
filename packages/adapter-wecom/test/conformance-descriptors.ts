import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { FakeWecom, wecomSection } from "./fake-wecom.ts";

export const descriptors: ConformanceDescriptors = {
  callback: {
    name: "wecom",
    definition: platform,
    startFake: (env) => FakeWecom.start({ gatewayUrl: env.gatewayUrl }),
    config: (fake) => wecomSection(fake as FakeWecom),
    chatTypes: ["dm", "group"],
    // WeCom user ids are the DM chat ids (a DM's chat is its member).
    ids: {
      dmChat: "zhangsan",
      user: "zhangsan",
      otherUser: "lisi",
      groupChat: "wrgroup2002",
      otherGroupChat: "wrgroup2003",
    },
    optOut: {
      "thread-routing": "WeCom app messages have no threads",
      "ignores-self":
        "WeCom never delivers an app's own messages to its callback: there is no self message to ignore",
      "mention-gating":
        "WeCom hands an app a group message only when the app is @-mentioned: there is no unmentioned group message to gate",
    },
  },
};
