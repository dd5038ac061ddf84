import { AuthError, PlatformError, RateLimitError, TransientError } from "@switchboard/core";
import { ConnectionError, MatrixError } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { toPlatformError } from "../src/errors.ts";

describe("toPlatformError", () => {
  it("maps M_LIMIT_EXCEEDED to a RateLimitError with retry_after_ms", () => {
    const err = toPlatformError(
      new MatrixError({ errcode: "M_LIMIT_EXCEEDED", error: "slow down", retry_after_ms: 1500 }, 429),
      "send",
    );
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(1500);
    expect(err.retryable).toBe(true);
  });

  it("prefers the Retry-After header and defaults to one second", () => {
    const headers = new Headers({ "retry-after": "3" });
    const withHeader = toPlatformError(
      new MatrixError({ errcode: "M_LIMIT_EXCEEDED" }, 429, undefined, undefined, headers),
      "send",
    );
    expect((withHeader as RateLimitError).retryAfterMs).toBe(3000);
    const bare = toPlatformError(new MatrixError({ errcode: "M_LIMIT_EXCEEDED" }, 429), "send");
    expect((bare as RateLimitError).retryAfterMs).toBe(1000);
  });

  it("maps token and permission errors to a non-retryable AuthError", () => {
    for (const [errcode, status] of [
      ["M_UNKNOWN_TOKEN", 401],
      ["M_FORBIDDEN", 403],
      ["M_MISSING_TOKEN", 401],
    ] as const) {
      const err = toPlatformError(new MatrixError({ errcode, error: "no" }, status), "send");
      expect(err).toBeInstanceOf(AuthError);
      expect(err.retryable).toBe(false);
    }
  });

  it("maps 5xx, timeouts and connection failures to a TransientError", () => {
    expect(toPlatformError(new MatrixError({ errcode: "M_UNKNOWN" }, 502), "send")).toBeInstanceOf(
      TransientError,
    );
    expect(
      toPlatformError(new ConnectionError("fetch failed", new Error("ECONNREFUSED")), "send"),
    ).toBeInstanceOf(TransientError);
    expect(toPlatformError(new DOMException("timed out", "TimeoutError"), "send")).toBeInstanceOf(
      TransientError,
    );
  });

  it("maps other client errors to a permanent PlatformError that names the action", () => {
    const err = toPlatformError(
      new MatrixError({ errcode: "M_BAD_JSON", error: "bad" }, 400),
      "send to !r:hs",
    );
    expect(err.constructor).toBe(PlatformError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("send to !r:hs");
    expect(err.message).toContain("M_BAD_JSON");
  });
});
