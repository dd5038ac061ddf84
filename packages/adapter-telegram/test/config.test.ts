import { validatePlatformSection } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { platform, type TelegramAdapterConfig, telegramConfigSchema } from "../src/index.ts";

const TOKEN = "123456:ABC-def_1";

describe("Telegram config", () => {
  it("fills the documented defaults", () => {
    expect(telegramConfigSchema.parse({ token: TOKEN })).toEqual({
      token: TOKEN,
      enabled: true,
      mode: "polling",
      reply_to_mode: "first",
      poll_timeout_s: 30,
      require_mention: false,
    });
  });

  it("says where to put a missing token", () => {
    const { issues } = validatePlatformSection(
      "telegram",
      { accounts: { support: { reply_to_mode: "all" } } },
      platform,
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(["platforms", "telegram", "accounts", "support", "token"]);
    expect(issues[0]!.message).toContain("set TELEGRAM_BOT_TOKEN");
  });

  it("requires a secret in webhook mode", () => {
    const r = telegramConfigSchema.safeParse({ token: TOKEN, mode: "webhook" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ["webhook_secret"] });
    expect(r.error?.issues[0]?.message).toContain("X-Telegram-Bot-Api-Secret-Token");
  });

  it("overlays each account on the section and reports unknown keys", () => {
    const { accounts, issues } = validatePlatformSection(
      "telegram",
      {
        reply_to_mode: "off",
        allowed_users: [7],
        accounts: {
          default: { token: TOKEN },
          support: { token: "654321:xyz", reply_to_mode: "all", tokn: "x" },
        },
      },
      platform,
    );
    expect((accounts.get("default") as TelegramAdapterConfig).reply_to_mode).toBe("off");
    expect((accounts.get("default") as TelegramAdapterConfig).allowed_users).toEqual(["7"]);
    expect(issues).toEqual([
      {
        path: ["platforms", "telegram", "accounts", "support", "tokn"],
        message: 'unknown key; did you mean "token"?',
      },
    ]);
  });

  it("normalizes api_url, bot_username and bot_id", () => {
    const c = telegramConfigSchema.parse({
      token: TOKEN,
      api_url: "http://127.0.0.1:8081/",
      bot_username: "@my_bot",
      bot_id: 42,
    });
    expect(c).toMatchObject({ api_url: "http://127.0.0.1:8081", bot_username: "my_bot", bot_id: "42" });
  });

  it("rejects a token that is not a bot token", () => {
    expect(telegramConfigSchema.safeParse({ token: "not a token" }).success).toBe(false);
  });
});
