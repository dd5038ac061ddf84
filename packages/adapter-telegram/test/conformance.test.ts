import { adapterConformance } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { DEFAULT_BOT, FakeTelegram, SECOND_BOT } from "./fake-telegram.ts";

adapterConformance({
  name: "telegram",
  definition: platform,
  startFake: () => FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]),
  config: (fake) => ({
    api_url: (fake as FakeTelegram).url,
    poll_timeout_s: 5,
    accounts: { default: { token: DEFAULT_BOT.token }, second: { token: SECOND_BOT.token } },
  }),
});
