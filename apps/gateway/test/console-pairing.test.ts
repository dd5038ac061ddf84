import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

/**
 * Pairing from the console, end to end: the real Telegram adapter against the fake Bot API, the gateway as
 * `switchboard run` starts it (the console loaded by its dynamic import), and Chromium approving the code.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN_KEY = "sk-console-pairing-admin-0123";
const OUT = join(import.meta.dirname, "..", "test-output", "screenshots");
const DOCS = join(import.meta.dirname, "..", "..", "..", "docs", "console");
const home = mkdtempSync(join(tmpdir(), "sb-console-pair-"));
let fake: FakeTelegram;
let gw: RunningGateway;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.CONSOLE_DOCS_SCREENSHOTS === "1") copyFileSync(file, join(DOCS, `${name}.png`));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`);
  fake = await FakeTelegram.start([DEFAULT_BOT]);
  writeFileSync(
    join(home, "config.yaml"),
    `session: { debounce_s: 0 }
api_server:
  port: 0
  keys: [{ key: "${ADMIN_KEY}", name: operator, agents: "*", admin: true }]
agents:
  main: {}
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${fake.url}
    poll_timeout_s: 1
`,
  );
  gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await fake?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("pairing in the console", () => {
  it("approves the code a stranger got on Telegram, and their next message is answered", async () => {
    await fake.inject({ chatType: "dm", chatId: "901", userId: "901", userName: "Grace", text: "hello bot" });
    const sent = await fake.waitForSent((m) => m.chatId === "901" && m.text.includes("pairing code"), 10_000);
    const code = /pairing code is ([A-Z2-9]{8})/.exec(sent.text)?.[1];
    expect(code).toMatch(/^[A-Z2-9]{8}$/);

    await page.goto(`${gw.url}/console/login`);
    await page.getByLabel("Admin API key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL("**/console/agents");
    await page.getByRole("link", { name: "Pairing" }).click();
    await page.waitForURL("**/console/pairing");
    const row = page.locator("#pairing-pending tbody tr", { hasText: code! });
    await expect(row.textContent()).resolves.toContain("telegram:901");
    await shot("pairing");

    await page.getByRole("button", { name: `Approve ${code}` }).click();
    await page.getByText("Approved telegram:901").waitFor();
    expect(await page.locator("#pairing-approved").textContent()).toContain("console:operator");

    await fake.inject({ chatType: "dm", chatId: "901", userId: "901", text: "am I in?" });
    const reply = await fake.waitForSent((m) => m.chatId === "901" && m.text.includes("am I in?"), 10_000);
    expect(reply.text).toContain("[main]");

    const audit = await gw.gateway.store.audit.list({ action: "pairing.approve" });
    expect(audit.map((e) => [e.actor, e.target])).toEqual([["console:operator", "telegram:901"]]);
  });

  it("revokes the paired user: their next message is asked to pair again", async () => {
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Revoke telegram:901" }).click();
    await page.getByText("Revoked telegram:901").waitFor();
    await fake.inject({ chatType: "dm", chatId: "901", userId: "901", text: "still in?" });
    await fake.waitForSent((m) => m.chatId === "901" && m.text.includes("pairing code"), 10_000);
  });
});
