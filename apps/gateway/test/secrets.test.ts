import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningCli, startCli } from "./cli-helpers.ts";

const TOKEN = "7654321:AAH-secret-bot-token_value";
const PROVIDER_KEY = "sk-agent-provider-key-0123";
const API_KEY = "sk-switchboard-api-key-0123";
const home = mkdtempSync(join(tmpdir(), "sb-secrets-"));
const children: RunningCli[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(home, { recursive: true, force: true });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("no configured secret reaches a log line", () => {
  it("redacts the Telegram token from the Bot API's unreachable errors, by value", {
    timeout: 30_000,
  }, async () => {
    const port = await closedPort();
    writeFileSync(join(home, ".env"), `TELEGRAM_BOT_TOKEN=${TOKEN}\nSWITCHBOARD_API_KEY=${API_KEY}\n`);
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0, keys: [{ key: "\${SWITCHBOARD_API_KEY}" }] }
cron: { enabled: false }
log_level: debug
agents:
  main: {}
  ops: { env: { OPS_KEY: "${PROVIDER_KEY}" } }
platforms:
  telegram:
    api_url: http://127.0.0.1:${port}
    poll_timeout_s: 1
    allow_all_users: true
    token: "\${TELEGRAM_BOT_TOKEN}"
`,
    );
    const cli = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
    children.push(cli);
    // The getMe at start fails (connection refused); grammY's error text holds the URL /bot<token>/getMe.
    const warned = await cli.waitForLog((l) => /telegram/i.test(String(l.msg)) && l.level === 40, 20_000);
    expect(JSON.stringify(warned)).toMatch(/ECONNREFUSED|connect|fetch|network/i);
    // Let the poller fail a few more times too.
    await new Promise((r) => setTimeout(r, 1500));
    cli.kill("SIGTERM");
    await cli.exited;
    const out = JSON.stringify(cli.lines);
    for (const secret of [
      TOKEN,
      encodeURIComponent(TOKEN),
      "AAH-secret-bot-token_value",
      PROVIDER_KEY,
      API_KEY,
    ])
      expect(out).not.toContain(secret);
    // The line is still there, with the token replaced.
    expect(out).toContain("/bot[redacted]/");
  });
});
