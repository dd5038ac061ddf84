import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram, SECOND_BOT } from "./fake-telegram.ts";

export const descriptors: ConformanceDescriptors = {
  polling: {
    name: "telegram",
    definition: platform,
    startFake: () => FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]),
    config: (fake) => ({
      api_url: (fake as FakeTelegram).url,
      poll_timeout_s: 5,
      accounts: { default: { token: DEFAULT_BOT.token }, second: { token: SECOND_BOT.token } },
    }),
  },
  // Updates arriving by webhook: the adapter registers its URL on the gateway's listener with
  // setWebhook, and the fake Bot API posts every update there with the secret token.
  webhook: {
    name: "telegram",
    definition: platform,
    startFake: () => FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]),
    config: (fake, env) => ({
      api_url: (fake as FakeTelegram).url,
      mode: "webhook",
      webhook_secret: "conformance-secret",
      accounts: {
        default: { token: DEFAULT_BOT.token, webhook_url: `${env.gatewayUrl}/telegram/default` },
        second: { token: SECOND_BOT.token, webhook_url: `${env.gatewayUrl}/telegram/second` },
      },
    }),
  },
};
