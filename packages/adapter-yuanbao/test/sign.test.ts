import { memoryLogger } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { beijingTimestamp, SignTokenClient, signature } from "../src/index.ts";
import { FakeYuanbao } from "./fake-yuanbao.ts";

describe("sign-token", () => {
  it("signs hex(HMAC-SHA256(app_secret, nonce + timestamp + app_key + app_secret))", () => {
    // Computed independently with Python's hmac module.
    expect(signature("0123456789abcdef0123456789abcdef", "2026-01-02T15:04:05+08:00", "app", "sec")).toBe(
      "cf18b139f8bd1bd42d696b307390c77e4e40ed904362e7b58d375f9587c61ed8",
    );
  });

  it("writes the timestamp in Beijing time, seconds precision", () => {
    expect(beijingTimestamp(1767337445_000)).toBe("2026-01-02T15:04:05+08:00");
    // Past 16:00 UTC it is already the next day in Beijing.
    expect(beijingTimestamp(Date.UTC(2026, 0, 1, 16, 30, 0))).toBe("2026-01-02T00:30:00+08:00");
  });

  describe("token cache", () => {
    let fake: FakeYuanbao;
    beforeEach(async () => {
      fake = await FakeYuanbao.start();
    });
    afterEach(async () => {
      await fake.close();
    });

    const client = (refreshMarginMs: number) =>
      new SignTokenClient({
        appId: "app-default",
        appSecret: fake.bot().appSecret,
        apiDomain: fake.url,
        logger: memoryLogger(),
        retries: 3,
        retryDelayMs: 10,
        refreshMarginMs,
      });

    it("keeps a token until its duration (less the margin) runs out, then signs a new one", async () => {
      fake.tokenDuration = 3;
      const c = client(2000);
      const first = await c.get();
      expect((await c.get()).token).toBe(first.token);
      expect(fake.signRequests).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1100));
      const second = await c.get();
      expect(second.token).not.toBe(first.token);
      expect(fake.signRequests).toHaveLength(2);
    });

    it("shares one request between concurrent refreshes", async () => {
      const c = client(0);
      const [a, b] = await Promise.all([c.refresh(), c.refresh()]);
      expect(a.token).toBe(b.token);
      expect(fake.signRequests).toHaveLength(1);
    });

    it("gives up after three busy answers", async () => {
      fake.busyNextSigns(4);
      await expect(client(0).get()).rejects.toMatchObject({ name: "TransientError", message: /10099/ });
      expect(fake.signRequests).toHaveLength(4);
    });
  });
});
