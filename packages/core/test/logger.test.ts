import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readDotenv } from "../src/dotenv.ts";
import { createLogger } from "../src/logger.ts";
import { registerConfigSecrets, SecretValues } from "../src/redact.ts";

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

describe("redaction by value", () => {
  const capture = () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { lines, log: createLogger({ destination: sink }) };
  };

  it("replaces a secret from a .env wherever it appears: message, error text and stack, URL-encoded", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-redact-"));
    try {
      writeFileSync(join(dir, ".env"), "MATRIX_PASSWORD=hunter2-is-long\nSWITCHBOARD_LOG_LEVEL=debugging\n");
      readDotenv(join(dir, ".env"));
      const { lines, log } = capture();
      log.error(
        {
          err: new Error("login failed for hunter2-is-long"),
          url: `https://x/?p=${encodeURIComponent("hunter2-is-long")}`,
        },
        "matrix said hunter2-is-long is wrong",
      );
      const out = lines.join("");
      expect(out).not.toContain("hunter2");
      expect(out.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(3);
      // A setting in the same .env is not a secret.
      log.info("level debugging");
      expect(lines.join("")).toContain("level debugging");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("knows every credential of a config: platform secrets under any key, API keys, provider headers, agent env", () => {
    const { lines, log } = capture();
    registerConfigSecrets({
      platforms: {
        slack: {
          signing_secret: "slack-signing-abcdef",
          accounts: { b: { bot_token: "xoxb-account-b-123" } },
        },
        wecom: { encoding_aes_key: "wecom-aes-key-0123456789" },
      },
      api_server: { keys: [{ key: "sk-api-key-abcdef" }] },
      providers: { p: { headers: { authorization: "Bearer provider-header-secret" } } },
      agents: { ops: { env: { OPS_TOKEN: "ops-env-value-123" } } },
    });
    log.warn(
      "slack-signing-abcdef xoxb-account-b-123 wecom-aes-key-0123456789 sk-api-key-abcdef provider-header-secret ops-env-value-123",
    );
    const out = lines.join("");
    for (const s of [
      "slack-signing",
      "xoxb-account",
      "wecom-aes",
      "sk-api-key",
      "provider-header",
      "ops-env",
    ])
      expect(out).not.toContain(s);
    expect(new SecretValues().redact("short 1234")).toBe("short 1234");
  });
});
