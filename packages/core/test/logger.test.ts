import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.ts";

describe("createLogger", () => {
  it("never writes secrets: token, key, secret and authorization fields are redacted", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ destination: sink }).child({ agent: "ops", platform: "telegram" });
    log.info(
      {
        token: "123:SECRET",
        account: { token: "456:SECRET", name: "support" },
        api_key: "sk-SECRET",
        authorization: "Bearer SECRET",
      },
      "connected",
    );
    const out = lines.join("");
    expect(out).not.toContain("SECRET");
    expect(out).toContain("[redacted]");
    expect(JSON.parse(out)).toMatchObject({
      agent: "ops",
      platform: "telegram",
      msg: "connected",
      account: { name: "support" },
    });
  });
});
