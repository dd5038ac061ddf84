import { describe, expect, it } from "vitest";
import { matrixConfigSchema, platform } from "../src/index.ts";

const BASE = { homeserver: "https://matrix.example.org", user_id: "@bot:example.org" };

describe("matrixConfigSchema", () => {
  it("applies the documented defaults", () => {
    const cfg = matrixConfigSchema.parse({ ...BASE, access_token: "t" });
    expect(cfg).toMatchObject({
      enabled: true,
      auto_join: true,
      require_mention: false,
      sync_timeout_ms: 30_000,
    });
  });

  it("accepts password login instead of an access token", () => {
    expect(matrixConfigSchema.safeParse({ ...BASE, password: "pw", device_id: "SWITCHBOARD" }).success).toBe(
      true,
    );
  });

  it("explains that access_token or password is required", () => {
    const r = matrixConfigSchema.safeParse(BASE);
    expect(r.success).toBe(false);
    const issue = r.error?.issues.find((i) => i.path[0] === "access_token");
    expect(issue?.message).toMatch(/set access_token .* or password/);
  });

  it("rejects a malformed user id, a missing homeserver and unknown keys", () => {
    const r = matrixConfigSchema.safeParse({ user_id: "bot", access_token: "t", tokn: "x" });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => `${i.path.join(".")}:${i.code}`) ?? [];
    expect(paths).toEqual(expect.arrayContaining(["user_id:invalid_format", ":unrecognized_keys"]));
  });

  it("takes api_url as the homeserver", () => {
    expect(
      matrixConfigSchema.safeParse({ api_url: "http://127.0.0.1:1", user_id: "@b:x", access_token: "t" })
        .success,
    ).toBe(true);
    const r = matrixConfigSchema.safeParse({ user_id: "@b:x", access_token: "t" });
    expect(r.error?.issues.map((i) => i.path.join("."))).toContain("homeserver");
  });

  it("is the platform definition's schema and creates an adapter per account", () => {
    expect(platform.name).toBe("matrix");
    const adapter = platform.create(matrixConfigSchema.parse({ ...BASE, access_token: "t" }), {
      account: "ops",
    });
    expect(adapter.account).toBe("ops");
    expect(adapter.capabilities).toEqual({
      maxMessageLength: 16_000,
      edit: true,
      typing: true,
      threads: true,
      format: "html",
      mediaIn: true,
      mediaOut: { maxBytes: 50 * 1024 * 1024 },
      nativeCommands: false,
    });
  });
});
