import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { createFakeDiscord, type FakeDiscord } from "./fake-discord.ts";

export const descriptors: ConformanceDescriptors = {
  gateway: {
    name: "discord",
    definition: platform,
    startFake: () => createFakeDiscord(),
    config: (fake) => {
      const discord = fake as FakeDiscord;
      return {
        api_url: discord.apiUrl,
        // Discord's real 50 requests/s would only slow the suite down against a local fake.
        global_requests_per_second: 10_000,
        accounts: {
          default: { token: discord.bot("default").token },
          second: { token: discord.bot("second").token },
        },
      };
    },
    // A Discord thread is a channel of its own: its id is both the chat and the thread; the parent is separate.
    ids: { thread: { chatId: "3003", threadId: "3003", parentChatId: "2004" } },
    optOut: {
      "formatting-fallback":
        "Discord never rejects a message for its Markdown (content is a plain string rendered best-effort), so there is no failure to fall back from",
    },
  },
};
