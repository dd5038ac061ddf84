import { validatePlatformSection } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { platform, slackConfigSchema } from "../src/index.ts";

describe("Slack config", () => {
  it("fills in the defaults for a minimal Socket Mode account", () => {
    const config = slackConfigSchema.parse({ bot_token: "xoxb-1", app_token: "xapp-1" });
    expect(config).toMatchObject({
      enabled: true,
      mode: "socket",
      reply_in_thread: true,
      require_mention: true,
      allow_bots: false,
    });
    expect(config.events_path).toBeUndefined();
    expect(config.api_url).toBeUndefined();
  });

  it("adds the trailing slash Bolt's slackApiUrl needs", () => {
    const config = slackConfigSchema.parse({
      bot_token: "xoxb-1",
      app_token: "xapp-1",
      api_url: "http://127.0.0.1:9/api",
    });
    expect(config.api_url).toBe("http://127.0.0.1:9/api/");
  });

  it("says how to set a missing bot token", () => {
    const r = slackConfigSchema.safeParse({ app_token: "xapp-1" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["bot_token"]);
    expect(r.error?.issues[0]?.message).toContain("SLACK_BOT_TOKEN");
  });

  it("rejects a token of the wrong kind", () => {
    const r = slackConfigSchema.safeParse({ bot_token: "xapp-1", app_token: "xoxb-1" });
    expect(r.error?.issues.map((i) => i.path[0]).sort()).toEqual(["app_token", "bot_token"]);
  });

  it("requires app_token in socket mode and signing_secret in http mode", () => {
    const socket = slackConfigSchema.safeParse({ bot_token: "xoxb-1" });
    expect(socket.error?.issues).toMatchObject([
      { path: ["app_token"], message: expect.stringContaining("SLACK_APP_TOKEN") },
    ]);
    const http = slackConfigSchema.safeParse({ bot_token: "xoxb-1", mode: "http" });
    expect(http.error?.issues).toMatchObject([
      { path: ["signing_secret"], message: expect.stringContaining("SLACK_SIGNING_SECRET") },
    ]);
    expect(
      slackConfigSchema.safeParse({ bot_token: "xoxb-1", mode: "http", signing_secret: "s" }).success,
    ).toBe(true);
  });

  it("rejects unknown keys and a relative events_path", () => {
    const r = slackConfigSchema.safeParse({
      bot_token: "xoxb-1",
      app_token: "xapp-1",
      token: "x",
      events_path: "slack",
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.code).sort()).toEqual(["invalid_format", "unrecognized_keys"]);
  });

  it("validates each workspace account and points errors at the key the user wrote", () => {
    const { accounts, issues } = validatePlatformSection(
      "slack",
      {
        mode: "socket",
        accounts: {
          default: { bot_token: "xoxb-a", app_token: "xapp-a" },
          acme: { bot_token: "xoxb-b" },
        },
      },
      platform,
    );
    expect([...accounts.keys()]).toEqual(["default"]);
    expect(issues).toEqual([
      { path: ["platforms", "slack", "accounts", "acme", "app_token"], message: expect.any(String) },
    ]);
  });
});
