import type { ConformanceDescriptor, ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { FakeSlack } from "./fake-slack.ts";

/** Slack-shaped ids: channels C…, DMs D…, users U…, a thread is its root message's ts. */
const IDS = {
  dmChat: "D0DM00001",
  groupChat: "C0GROUP02",
  otherGroupChat: "C0GROUP03",
  thread: { chatId: "C0THREAD4", threadId: "1700000000.000042", parentChatId: undefined },
  user: "U0USER001",
  otherUser: "U0USER005",
};

function descriptor(mode: "socket" | "http"): ConformanceDescriptor {
  return {
    name: "slack",
    definition: platform,
    ids: IDS,
    startFake: (env) => FakeSlack.start({ mode, gatewayUrl: env.gatewayUrl }),
    // The suite expects a channel message outside a thread to keep the channel's session
    // (`…:group:<chat>:<user>`); with reply_in_thread (the default) every top-level message opens
    // its own thread session instead, which test/socket.test.ts and test/http.test.ts cover.
    config: (fake) => (fake as FakeSlack).config({ reply_in_thread: false }),
    optOut: {
      "formatting-fallback":
        "Slack never rejects mrkdwn (unknown markup renders as text), so there is no rejection to fall back from",
    },
  };
}

export const descriptors: ConformanceDescriptors = { socket: descriptor("socket"), http: descriptor("http") };
