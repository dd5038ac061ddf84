import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";

let homeserver: FakeHomeserver;
const account = (name: string) => ({
  user_id: homeserver.bot(name).userId,
  access_token: homeserver.bot(name).accessToken,
});

export const descriptors: ConformanceDescriptors = {
  sync: {
    name: "matrix",
    definition: platform,
    startFake: async () => (homeserver = await FakeHomeserver.start()),
    config: () => ({
      homeserver: homeserver.url,
      sync_timeout_ms: 5_000,
      accounts: { default: account("default"), second: account("second") },
    }),
    ids: {
      dmChat: "!dm:fake.local",
      groupChat: "!group:fake.local",
      otherGroupChat: "!other:fake.local",
      thread: { chatId: "!threads:fake.local", threadId: "$thread-root" },
      user: "@ada:fake.local",
      otherUser: "@bob:fake.local",
    },
  },
};
