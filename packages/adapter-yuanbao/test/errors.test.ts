import { AuthError, PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { toPlatformError } from "../src/index.ts";

describe("toPlatformError", () => {
  it.each([
    [{ action: "send_c2c_message", status: 429 }, RateLimitError, true],
    [{ action: "send_c2c_message", status: 503 }, TransientError, true],
    [{ action: "send_c2c_message", status: 403 }, AuthError, false],
    [{ action: "send_group_message", timeout: true }, TransientError, true],
    [{ action: "request", closeCode: 1006 }, TransientError, true],
    [{ action: "sign-token", code: 10099 }, TransientError, true],
    [{ action: "sign-token", code: 10001, message: "bad" }, AuthError, false],
    [{ action: "auth-bind", code: 41002 }, AuthError, false],
    [{ action: "send_group_message", code: 20001 }, PlatformError, false],
  ])("%o → %o", (failure, kind, retryable) => {
    const err = toPlatformError(failure);
    expect(err).toBeInstanceOf(kind);
    expect(err.retryable).toBe(retryable);
    expect(err.platform).toBe("yuanbao");
  });

  it("makes a permanent close code a final error that says what to do", () => {
    const err = toPlatformError({ action: "connection", closeCode: 4018 });
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/close code 4018.*will not reconnect.*restart the gateway/);
  });

  it("treats network failures as transient", () => {
    expect(toPlatformError(new Error("ECONNREFUSED"))).toBeInstanceOf(TransientError);
  });
});
