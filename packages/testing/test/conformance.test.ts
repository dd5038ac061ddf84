import { adapterConformance, platform, testNetwork } from "../src/index.ts";

const NETWORK = "conformance";

adapterConformance({
  name: "test",
  definition: platform,
  startFake: async () => testNetwork(NETWORK),
  config: () => ({
    media: true,
    accounts: { default: { network: NETWORK }, second: { network: NETWORK } },
  }),
});
