import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, startWorld, type World } from "./world.ts";

/** Debian's `chromium` package (`.ci/run` installs it); `CHROMIUM_PATH` points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = join(import.meta.dirname, "..", "test-output", "screenshots");
/** `CONSOLE_DOCS_SCREENSHOTS=1` also refreshes the screenshots committed under docs/console/. */
const DOCS = join(import.meta.dirname, "..", "..", "..", "docs", "console");

let world: World;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string, p: Page = page): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  if (process.env.CONSOLE_DOCS_SCREENSHOTS === "1") {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`);
  world = await startWorld();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(5000);
  page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await world?.close();
});

describe("the console in Chromium", () => {
  it("logs in with the admin key and lists the agents of the config", async () => {
    await page.goto(`${world.url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await shot("login");
    await page.getByLabel("Admin API key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL("**/console/agents");
    const agents = await page.locator("#agents tbody th[scope=row] a").allTextContents();
    expect(agents).toEqual(["main", "support", "ops"]);
    await expect(page.locator("#agents meter").count()).resolves.toBe(1);
    await shot("agents");
  });

  it("opens an agent: SOUL, memory and skills", async () => {
    await page.getByRole("link", { name: "ops", exact: true }).click();
    await page.waitForURL("**/console/agents/ops");
    await expect(page.locator("pre.file").first().textContent()).resolves.toContain("You are Ops");
    await expect(page.getByText("The staging cluster is eu-west.").count()).resolves.toBe(1);
    await shot("agent");
  });

  it("shows the routes with the shadowed one marked, and the route tester's answer", async () => {
    await page.getByRole("link", { name: "Routes" }).click();
    await page.waitForURL("**/console/routes");
    expect(await page.locator("#routes tbody tr").count()).toBe(4);
    await expect(page.locator("#routes tr.shadowed").textContent()).resolves.toContain(
      "shadowed by routes[0]",
    );
    await page.getByLabel("Platform", { exact: true }).fill("test");
    await page.getByLabel("Chat id", { exact: true }).fill("help");
    await page.getByLabel("User id", { exact: true }).fill("7");
    await page.getByLabel("User id", { exact: true }).press("Enter");
    await page.locator("#route-result").waitFor();
    const result = await page.locator("#route-result").textContent();
    expect(result).toContain("support");
    expect(result).toContain("routes[0]");
    await shot("routes");
  });

  it("shows a turn sent through the API in the live view within a second", async () => {
    await page.getByRole("link", { name: "Live" }).click();
    await page.waitForURL("**/console/live");
    await page.getByText("Live: new turns appear").waitFor({ timeout: 5000 });
    const client = new OpenAI({
      apiKey: ADMIN_KEY,
      baseURL: `${world.url}/v1`,
      maxRetries: 0,
      timeout: 10_000,
    });
    for (const agent of ["main", "support"])
      await client.chat.completions.create({
        model: agent,
        messages: [{ role: "user", content: "warm up" }],
      });
    await client.chat.completions.create({ model: "ops", messages: [{ role: "user", content: "status?" }] });
    const answered = Date.now();
    await page.locator('#live tbody tr[data-agent="ops"]').waitFor({ timeout: 1000 });
    expect(Date.now() - answered).toBeLessThan(1000);
    const row = await page.locator('#live tbody tr[data-agent="ops"]').first().textContent();
    expect(row).toContain("api_server");
    expect(row).toContain("ok");
    // The charts are uPlot canvases fed by the same turns.
    await page.locator("#chart-turns canvas").waitFor();
    await page.locator("#chart-latency canvas").waitFor();
    // Per agent: turns and latency percentiles of the last hour.
    await page.locator("#live-agents tbody th", { hasText: "ops" }).waitFor();
    expect(await page.locator("#live-agents tbody tr").count()).toBe(3);
    await page.getByLabel("Agent").selectOption("ops");
    expect(await page.locator("#live tbody tr").count()).toBe(1);
    await page.getByLabel("Agent").selectOption("");
    await shot("live");
  });

  it("chats with an agent and shows the streamed reply", async () => {
    await page.getByRole("link", { name: "Chat" }).click();
    await page.waitForURL("**/console/chat");
    await page.getByLabel("Agent").selectOption("support");
    const streamed = page.waitForResponse((r) => r.url().endsWith("/console/api/chat"));
    await page.getByLabel("Message").fill("hello from the console");
    await page.getByLabel("Message").press("Enter");
    const res = await streamed;
    expect(res.headers()["content-type"]).toContain("text/event-stream");
    await page.locator(".msg-assistant[data-done]").waitFor({ timeout: 5000 });
    expect(await page.locator(".msg-assistant .content").textContent()).toBe(
      "[support] hello from the console",
    );
    // A second message continues the same conversation: one stored session holds both exchanges.
    await page.getByLabel("Message").fill("and again");
    await page.getByLabel("Message").press("Enter");
    await page.locator(".msg-assistant[data-done]").nth(1).waitFor({ timeout: 5000 });
    expect(await page.locator(".msg-assistant .content").nth(1).textContent()).toBe("[support] and again");
    // The turns went through the API: stored as a session of the agent.
    const stored = (await world.store.list({ agentId: "support" })).filter((s) => s.messageCount === 4);
    expect(stored).toHaveLength(1);
    await shot("chat");
  });

  it("pauses and resumes a platform account from the keyboard", async () => {
    await page.getByRole("link", { name: "Platforms" }).click();
    await page.waitForURL("**/console/platforms");
    await expect(page.locator("#platforms tbody").textContent()).resolves.toContain("connected");
    await page.getByRole("button", { name: "Pause test/default" }).focus();
    await page.keyboard.press("Enter");
    await page.getByText("Paused test/default.").waitFor();
    expect(world.gateway.ops.breaker("test", "default").state).toBe("paused");
    await shot("platforms");
    await page.getByRole("button", { name: "Resume test/default" }).click();
    await page.getByText("Resumed test/default.").waitFor();
    expect(world.gateway.ops.breaker("test", "default").state).not.toBe("paused");
  });

  it("searches sessions across agents and opens a transcript", async () => {
    await page.getByRole("link", { name: "Sessions" }).click();
    await page.waitForURL("**/console/sessions");
    await page.getByLabel("Search messages").fill("console");
    await page.getByLabel("Search messages").press("Enter");
    await page.locator("#search-hits tbody tr").first().waitFor();
    await shot("sessions");
    await page.locator("#search-hits tbody th a").first().click();
    await page.locator("#transcript").waitFor();
    expect(await page.locator("#transcript").textContent()).toContain("hello from the console");
    await shot("session");
  });

  it("is readable on a phone: no page-wide horizontal scrolling", async () => {
    // The agents view again, now with the day's usage and sessions.
    await page.goto(`${world.url}/console/agents`);
    await shot("agents");
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${world.url}/console/agents`);
    // A string, evaluated in the page: this project's types have no DOM library.
    const overflow = (await phone.evaluate(
      "document.documentElement.scrollWidth - window.innerWidth",
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("agents-phone", phone);
    await phone.close();
  });

  it("ran without script errors or blocked resources", () => {
    expect(pageErrors).toEqual([]);
  });
});
